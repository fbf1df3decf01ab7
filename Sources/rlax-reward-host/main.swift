import Foundation
import RlaxRewards

// rlax-reward-host --library PATH --symbol NAME --signature SIG
// Scores JSON-line requests with a C function from a user's library, in a process of its own
// so that a crash or hang in that library costs one sample, not the run (see RewardHostProtocol).
exit(RewardHost.main(arguments: Array(CommandLine.arguments.dropFirst())))
