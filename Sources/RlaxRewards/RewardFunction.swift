import RlaxTasks

/// Scores one sampled completion of a problem. Implementations may be slow, may throw, and
/// (being user code) may hang or crash: wrap them in a ``RewardGuard`` before a run uses them.
public protocol RewardFunction: Sendable {
  /// A short identifier for logs and warnings, e.g. `"arithmetic"` or `"sum_reward@librewards.so"`.
  var name: String { get }
  /// The reward of `completion` (the model's text after the prompt). Any Double may come back;
  /// a ``RewardGuard`` turns NaN and infinities into 0 with a counted warning.
  func score(problem: Problem, completion: String) throws -> Double
}

/// A task's own verifier as a reward function (1 correct, 0 wrong).
public struct TaskReward: RewardFunction {
  public let task: any VerifiableTask

  public init(_ task: any VerifiableTask) { self.task = task }

  public var name: String { task.name }

  public func score(problem: Problem, completion: String) -> Double {
    task.reward(problem: problem, completion: completion)
  }
}

/// A reward function from a closure (handy for tests and small custom rewards).
public struct ClosureReward: RewardFunction {
  public let name: String
  private let body: @Sendable (Problem, String) throws -> Double

  public init(name: String, _ body: @escaping @Sendable (_ problem: Problem, _ completion: String) throws -> Double) {
    self.name = name
    self.body = body
  }

  public func score(problem: Problem, completion: String) throws -> Double {
    try body(problem, completion)
  }
}
