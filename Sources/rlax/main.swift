print("rlax")
