import RlaxModel
import RlaxPlugins

/// The trainer's view of one step's groups: full sequences (prompt + completion) for the
/// model, and the [N, T] response-token arrays the algorithm sees, with the mapping between.
struct StepBatch {
  let tokens: TokenBatch
  let numSequences: Int
  /// Response tokens per row (T of the algorithm's arrays).
  let responseLength: Int
  /// [N] index in the model's [N, L] outputs of each row's first response target.
  let responseStart: [Int]
  let responseCount: [Int]
  let groupIDs: [Int32]
  let rewards: [Float]
  let samplerLogprobs: [Float]

  init(groups: [GroupRollout], padToken: Int32) {
    var sequences: [[Int32]] = [], starts: [Int] = [], counts: [Int] = [], ids: [Int32] = [], rewards: [Float] = []
    var sampler: [[Float]] = []
    for (g, group) in groups.enumerated() {
      for (j, completion) in group.completions.enumerated() {
        sequences.append(group.item.promptTokens + completion)
        starts.append(group.item.promptTokens.count - 1)
        counts.append(completion.count)
        ids.append(Int32(g))
        rewards.append(Float(group.rewards[j]))
        sampler.append(group.samplerLogprobs[j])
      }
    }
    let length = sequences.map { $0.count - 1 }.max() ?? 1
    var tokens: [Int32] = [], targets: [Int32] = []
    for s in sequences {
      let pad = length - (s.count - 1)
      tokens += Array(s.dropLast()) + [Int32](repeating: padToken, count: pad)
      targets += Array(s.dropFirst()) + [Int32](repeating: padToken, count: pad)
    }
    numSequences = sequences.count
    let responseLength = max(counts.max() ?? 1, 1)
    self.responseLength = responseLength
    self.tokens = TokenBatch(batch: sequences.count, length: length, tokens: tokens, targets: targets)
    responseStart = starts
    responseCount = counts
    groupIDs = ids
    self.rewards = rewards
    samplerLogprobs = (0..<sequences.count).flatMap { r in
      sampler[r] + [Float](repeating: 0, count: responseLength - sampler[r].count)
    }
  }

  /// [N, T] response mask.
  var mask: [Float] {
    (0..<numSequences).flatMap { r in (0..<responseLength).map { $0 < responseCount[r] ? 1 : 0 } }
  }

  /// Gathers [N, T] response values from the model's [N * L] per-position values.
  func responses(_ full: [Float]) -> [Float] {
    (0..<numSequences).flatMap { r in
      (0..<responseLength).map { j in j < responseCount[r] ? full[r * tokens.length + responseStart[r] + j] : 0 }
    }
  }

  /// Scatters [N, T] response gradients back to the model's [N * L] positions.
  func scatter(_ response: [Float]) -> [Float] {
    var full = [Float](repeating: 0, count: numSequences * tokens.length)
    for r in 0..<numSequences {
      for j in 0..<responseCount[r] { full[r * tokens.length + responseStart[r] + j] = response[r * responseLength + j] }
    }
    return full
  }
}
