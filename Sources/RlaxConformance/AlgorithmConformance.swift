import Foundation
import RlaxPlugins

/// Conformance of an RL algorithm: its declared hyperparameters, option errors, advantages
/// that respect the mask, and dLoss/dlogprob (and dLoss/dvalue) against finite differences of
/// its own loss.
struct AlgorithmConformance {
  let library: PluginLibrary
  let info: AlgorithmInfo
  var rng = SplitMix64(seed: 7)

  mutating func run(into r: CheckRecorder) {
    r.check("algorithm: hyperparameters are named [a-z0-9_]+ with defaults inside [min, max]") {
      for hp in info.hyperparameters {
        try expect(!hp.name.isEmpty && hp.name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }, "bad name '\(hp.name)'")
        try expect(hp.minValue <= hp.defaultValue && hp.defaultValue <= hp.maxValue,
                   "\(hp.name): default \(hp.defaultValue) outside [\(hp.minValue), \(hp.maxValue)]")
      }
      try expect(info.minGroupSize >= 1, "min_group_size is \(info.minGroupSize)")
      return .passed
    }
    r.check("algorithm: get_hyperparameters returns the declared defaults; destroy(NULL) is safe") {
      let algo = try Algorithm(library: library)
      algo.probeNullSafety()
      let values = try algo.hyperparameters()
      for hp in info.hyperparameters {
        try expect(values[hp.name] == hp.defaultValue, "\(hp.name) is \(values[hp.name] ?? .nan), declared default \(hp.defaultValue)")
      }
      return .passed
    }
    r.check("algorithm: an option it does not know, a non-number and an out-of-range value are INVALID_ARGUMENT") {
      try expectError(.invalidArgument, "unknown option") {
        _ = try Algorithm(library: library, options: PluginOptions([("no_such_option_xyz", "1")]))
      }
      if let hp = info.hyperparameters.first {
        try expectError(.invalidArgument, "\(hp.name)=abc") {
          _ = try Algorithm(library: library, options: PluginOptions([(hp.name, "abc")]))
        }
        if hp.maxValue < .greatestFiniteMagnitude {
          try expectError(.invalidArgument, "\(hp.name) above its maximum") {
            _ = try Algorithm(library: library, options: PluginOptions([(hp.name, "\(hp.maxValue * 2 + 1)")]))
          }
        }
        let setTo = hp.minValue == hp.maxValue ? hp.minValue : (hp.defaultValue + hp.maxValue) / 2
        let algo = try Algorithm(library: library, options: PluginOptions([(hp.name, "\(setTo)")]))
        try expect(try algo.hyperparameters()[hp.name] == setTo, "\(hp.name)=\(setTo) did not take effect")
      }
      return .passed
    }
    r.check("algorithm: advantages and gradients are 0 on padding, finite elsewhere, and deterministic") {
      let algo = try Algorithm(library: library)
      var batch = makeBatch()
      let adv = try algo.computeAdvantages(batch)
      batch.advantages = adv
      let a = try algo.computeLoss(batch), b = try algo.computeLoss(batch)
      for i in 0..<batch.mask.count where batch.mask[i] == 0 {
        try expect(adv[i] == 0, "advantage \(adv[i]) at padding index \(i)")
        try expect(a.dlossDlogprobs[i] == 0, "dloss/dlogprob \(a.dlossDlogprobs[i]) at padding index \(i)")
      }
      try expect(adv.allSatisfy(\.isFinite) && a.dlossDlogprobs.allSatisfy(\.isFinite) && a.loss.isFinite, "non-finite output")
      try expect(a.loss == b.loss && a.dlossDlogprobs == b.dlossDlogprobs, "two identical calls gave different results")
      try expect(adv.contains { $0 != 0 }, "every advantage is 0 on a batch whose rewards vary within groups")
      return .passed
    }
    r.check("algorithm: select_sequences (if offered) answers 0 or 1 per sequence, deterministically") {
      let algo = try Algorithm(library: library)
      guard algo.selectsSequences else { return .skipped("select_sequences not offered (keeps every sequence)") }
      var batch = makeBatch()
      batch.logprobs = batch.behaviorLogprobs
      let a = try algo.selectSequences(batch), b = try algo.selectSequences(batch)
      try expect(a == b, "two identical calls disagree")
      // A group whose rewards are all equal carries no signal; one with spread does.
      for i in 0..<batch.numSequences where batch.groupIDs[i] == batch.groupIDs[0] { batch.rewards[i] = 1 }
      let flat = try algo.selectSequences(batch)!
      try expect(flat.indices.filter { batch.groupIDs[$0] == batch.groupIDs[0] }.allSatisfy { !flat[$0] },
                 "kept sequences of a group whose rewards are all equal")
      return .passed
    }
    r.check("algorithm: dloss/dlogprobs matches finite differences of the loss") {
      let algo = try Algorithm(library: library)
      var batch = makeBatch()
      batch.advantages = try algo.computeAdvantages(batch)
      let result = try algo.computeLoss(batch)
      try checkGradient(algo, batch, analytic: result.dlossDlogprobs, input: .logprobs)
      if info.needsValueHead, let dv = result.dlossDvalues {
        try checkGradient(algo, batch, analytic: dv, input: .values)
      }
      return .passed
    }
  }

  /// Two or three groups of G samples with ragged lengths, varied rewards, and current
  /// log-probs near the behaviour ones (ratios both inside and outside usual clip ranges).
  mutating func makeBatch() -> RolloutBatch {
    let g = max(info.minGroupSize, 4), groups = 3, n = g * groups, t = 9
    var mask = [Float](repeating: 0, count: n * t), behavior = mask, logprobs = mask, ref = mask
    var rewards = [Float](repeating: 0, count: n), ids = [Int32](repeating: 0, count: n)
    for i in 0..<n {
      ids[i] = Int32(100 + i / g)
      let length = 2 + (i * 5) % (t - 1)
      rewards[i] = Float(Double.random(in: 0..<1, using: &rng) < 0.5 ? 0 : 1) + Float(i % g == 0 ? 0.25 : 0)
      for j in 0..<t {
        let k = i * t + j
        behavior[k] = Float(Double.random(in: -3 ..< -0.05, using: &rng))
        logprobs[k] = behavior[k] + Float(Double.random(in: -0.35..<0.35, using: &rng))
        ref[k] = behavior[k] + Float(Double.random(in: -0.2..<0.2, using: &rng))
        mask[k] = j < length ? 1 : 0
      }
    }
    let values: [Float]? = info.needsValueHead ? (0..<(n * t)).map { _ in Float(Double.random(in: -1..<1, using: &rng)) } : nil
    let oldValues: [Float]? = values.map { v in v.map { $0 + Float(Double.random(in: -0.1..<0.1, using: &rng)) } }
    return RolloutBatch(numSequences: n, numTokens: t, groupIDs: ids, rewards: rewards, mask: mask, behaviorLogprobs: behavior,
                        logprobs: logprobs, refLogprobs: ref, values: values, oldValues: oldValues, maxResponseTokens: t)
  }

  /// Central differences; at a kink (a clip boundary) the analytic value may be any
  /// subgradient, so it must lie between the two one-sided slopes (with a tolerance).
  /// The batch input a gradient is taken with respect to.
  enum Input: String { case logprobs, values }

  func checkGradient(_ algo: Algorithm, _ batch: RolloutBatch, analytic: [Float], input: Input) throws {
    let label = input.rawValue
    let step: Float = 1e-3
    let scale = max(analytic.map { abs(Double($0)) }.max() ?? 0, 1e-6)
    let tol = 2e-3 * scale + 1e-7
    for i in 0..<analytic.count where batch.mask[i] != 0 {
      func loss(_ delta: Float) throws -> (Double, Float) {
        var b = batch
        let x = input == .logprobs ? b.logprobs[i] : b.values![i]
        let moved = x + delta
        if input == .logprobs { b.logprobs[i] = moved } else { b.values![i] = moved }
        return (try algo.computeLoss(b).loss, moved - x)
      }
      let (up, hUp) = try loss(step), (down, hDown) = try loss(-step), (mid, _) = try loss(0)
      let forward = (up - mid) / Double(hUp), backward = (mid - down) / Double(-hDown)
      let central = (up - down) / Double(hUp - hDown)
      let g = Double(analytic[i])
      let lo = min(forward, backward) - tol, hi = max(forward, backward) + tol
      let err = (g >= lo && g <= hi) ? 0 : abs(g - central)
      try expect(err <= tol, "d loss / d \(label)[\(i)]: analytic \(g), finite difference \(central) (one-sided \(forward), \(backward))")
    }
  }
}
