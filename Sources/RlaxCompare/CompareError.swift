/// What is wrong with a comparison's request or its directory.
public enum CompareError: Error, CustomStringConvertible, Equatable {
  case badArm(String, String)
  case duplicateArm(String)
  case unknownBaseline(String, arms: [String])
  case planDiffers(path: String, saved: String, requested: String)
  case missingResult(path: String)
  case mismatched(String)

  public var description: String {
    switch self {
    case .badArm(let arm, let reason): "--arm \"\(arm)\": \(reason)"
    case .duplicateArm(let name): "two arms are named '\(name)'"
    case .unknownBaseline(let name, let arms): "--baseline \(name) is not an arm (arms: \(arms.joined(separator: ", ")))"
    case .planDiffers(let path, let saved, let requested):
      "\(path) holds another comparison: saved \(saved), requested \(requested) (use another --dir, or the same arms, seeds and flags to resume)"
    case .missingResult(let path): "\(path) is missing: that run has not finished"
    case .mismatched(let reason): "the runs cannot be paired: \(reason)"
    }
  }
}
