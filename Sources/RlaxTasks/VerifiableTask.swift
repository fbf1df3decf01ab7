/// A source of problems whose completions can be scored automatically: the unit the SFT,
/// evaluation and RL loops consume.
///
/// Conforming types must keep two promises:
/// - `problems(split:count:seed:)` is a pure function of its arguments and the task's
///   configuration (same seed, same problems, on any machine).
/// - Every returned problem satisfies `Split.containing(prompt: problem.prompt) == split`, so
///   train and held-out problems never overlap.
public protocol VerifiableTask: Sendable {
  /// A short identifier for logs and reports, e.g. `"arithmetic"`.
  var name: String { get }

  /// Returns `count` problems from `split`, deterministically in `seed`. Problems may repeat
  /// when the task's problem space is small. Returns fewer than `count` only when the split is
  /// (nearly) empty for this configuration, and an empty array when `count <= 0`.
  func problems(split: Split, count: Int, seed: UInt64) -> [Problem]

  /// Scores `completion` (the model's text after the prompt, up to but excluding EOS):
  /// 1 if correct, 0 if wrong. Never traps or hangs, whatever the completion contains.
  func reward(problem: Problem, completion: String) -> Double
}

extension VerifiableTask {
  /// Scores with the verifier the problem names (see ``VerifierRegistry/reward(problem:completion:)``).
  public func reward(problem: Problem, completion: String) -> Double {
    VerifierRegistry.reward(problem: problem, completion: completion)
  }
}

/// Shared draw-and-reject loop for generated tasks: draws candidates from `draw` until `count`
/// of them fall in `split`. `draw` may return nil to reject a candidate for its own reasons
/// (a Countdown target out of range, say).
///
/// A configuration whose problem space has no prompt in `split` would loop forever, so the loop
/// gives up after `maxConsecutiveMisses` draws in a row without a hit; with ~10% of prompts
/// held out that is unreachable for any space of more than a handful of problems.
func drawProblems(split: Split, count: Int, seed: UInt64, maxConsecutiveMisses: Int = 100_000,
                  draw: (inout SplitMix64) -> Problem?) -> [Problem] {
  guard count > 0 else { return [] }
  var rng = SplitMix64(seed: seed)
  var problems: [Problem] = []
  problems.reserveCapacity(count)
  var misses = 0
  while problems.count < count && misses < maxConsecutiveMisses {
    if let problem = draw(&rng), Split.containing(prompt: problem.prompt) == split {
      problems.append(problem)
      misses = 0
    } else {
      misses += 1
    }
  }
  return problems
}
