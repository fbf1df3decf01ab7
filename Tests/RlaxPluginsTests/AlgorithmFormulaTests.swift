import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// Every bundled algorithm against its formula in docs/algorithms.md (issue 17).
///
/// For each of the nine plugins the test holds a float64 reference written here, with plain
/// loops, straight from the doc (no code shared with the plugins), and compares advantages,
/// loss and dLoss/dlogprob (and dLoss/dvalue for PPO) on random batches with
/// - groups of unequal sizes (1 to 5 rows, a group of one row, a group with equal rewards),
///   with arbitrary, non-contiguous group ids;
/// - padding: rows of different lengths (mask 0 at the end, one row with no counted token);
/// - ratios rho = exp(logp - logp_old) placed 2% and 0.1% inside and outside every clip edge
///   (1 - eps_low and 1 + eps_high, or GSPO's sequence ratio around its 3e-4/4e-4 edges), plus
///   rho = 1 and free ratios, with advantages of both signs;
/// - values on both sides of PPO's value clip, reference log-probs for the KL terms, and
///   max_response_tokens below T so that DAPO's overlong shaping reaches every branch.
/// The reference uses the documented default hyperparameters (and checks that the plugin
/// reports the same defaults), so a changed default is caught too. Each algorithm also has a
/// small case worked out by hand in the comments, with the expected numbers written out.
///
/// Tolerance: the plugins compute in double from float inputs and round their outputs to
/// float, so plugin and reference agree to about 1e-7 relative. The test allows 1e-5 relative
/// plus 1e-7 absolute (the absolute part for values that are 0 or nearly so), about 100x the
/// float rounding and far below what any formula change gives (see scripts/mutation-check.sh).
///
/// RLAX_FORMULA_PLUGIN_DIR=dir makes the test load `dir/NAME.so` instead of the bundled
/// plugin: scripts/mutation-check.sh uses it to show that each test fails on a perturbed
/// plugin.
final class AlgorithmFormulaTests: XCTestCase {
  // MARK: - Loading

  static func library(_ name: String) throws -> PluginLibrary {
    if let dir = ProcessInfo.processInfo.environment["RLAX_FORMULA_PLUGIN_DIR"] {
      let path = "\(dir)/\(name).so"
      if FileManager.default.fileExists(atPath: path) { return try PluginLibrary.open(path: path) }
    }
    return try TestSupport.bundled(name)
  }

  func algorithm(_ name: String, _ options: [(String, String)] = []) throws -> Algorithm {
    try Algorithm(library: try Self.library(name), options: PluginOptions(options))
  }

  /// The documented defaults (docs/algorithms.md, hyperparameter tables).
  static let documentedDefaults: [String: [String: Double]] = [
    "grpo": ["clip_low": 0.2, "clip_high": 0.2, "kl_beta": 0.04, "adv_eps": 1e-6, "std_normalize": 1],
    "dr-grpo": ["clip_low": 0.2, "clip_high": 0.2, "kl_beta": 0],
    "dapo": ["clip_low": 0.2, "clip_high": 0.28, "adv_eps": 1e-6, "overlong_shaping": 1, "overlong_fraction": 0.2],
    "gspo": ["clip_low": 3e-4, "clip_high": 4e-4, "adv_eps": 1e-6],
    "cispo": ["clip_low": 1, "clip_high": 0.28, "adv_eps": 1e-6],
    "rloo": ["clip_low": 0.2, "clip_high": 0.2, "kl_beta": 0],
    "reinforce-pp": ["clip_low": 0.2, "clip_high": 0.2, "kl_beta": 0.01, "gamma": 1, "adv_eps": 1e-8],
    "ppo": ["clip_low": 0.2, "clip_high": 0.2, "gamma": 1, "gae_lambda": 0.95, "vf_coef": 0.5, "vf_clip": 0.2, "kl_beta": 0,
            "normalize_advantages": 1, "adv_eps": 1e-8],
    "mdloo": ["kl_beta": 0.05, "md_eta": 0.1],
  ]

  /// The hyperparameters the reference uses: the documented defaults with `options` applied.
  /// Also checks that the plugin reports exactly these values.
  func hyperparameters(_ name: String, _ algorithm: Algorithm, _ options: [(String, String)],
                       file: StaticString = #filePath, line: UInt = #line) throws -> [String: Double] {
    var hp = Self.documentedDefaults[name]!
    for (k, v) in options { hp[k] = Double(v)! }
    let reported = try algorithm.hyperparameters()
    XCTAssertEqual(Set(reported.keys), Set(hp.keys), "\(name): hyperparameter names", file: file, line: line)
    for (k, v) in hp {
      XCTAssertEqual(reported[k], v, "\(name): hyperparameter \(k) in effect (documented default or option)", file: file, line: line)
    }
    return hp
  }

  // MARK: - Random batches

  struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
      state &+= 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * uniform() }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func normal() -> Double {
      let u = max(uniform(), 1e-12), v = uniform()
      return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
  }

  /// How the ratios of a batch are placed.
  enum RatioPlacement {
    /// Per token: 2% and 0.1% inside and outside each edge, rho = 1, or a free ratio.
    case tokens(edges: [Double])
    /// Per row: the sequence ratio s_i = exp(mean_t log rho_t) at an edge -/+ delta, or free
    /// (GSPO); the tokens of a row scatter around it with zero mean.
    case sequences(edges: [Double], delta: Double)
  }

  /// A random batch: 5 groups of sizes 3, 1, 4, 2, 5 with ids 8, 4, 27, 11, 19, rows shuffled
  /// (groups are not contiguous); T = 7, rows of length 0...7; max_response_tokens = 6.
  /// Group 8 has equal rewards (0.1); group 27 has real-valued
  /// rewards; the others 0/1.
  func randomBatch(seed: UInt64, placement: RatioPlacement, valueClip: Double = 0.2) -> RolloutBatch {
    var rng = SplitMix(state: seed)
    let sizes = [3, 1, 4, 2, 5], ids: [Int32] = [8, 4, 27, 11, 19]
    var rows: [(gid: Int32, reward: Float)] = []
    for (g, size) in sizes.enumerated() {
      for j in 0..<size {
        var reward: Float
        switch ids[g] {
        case 8: reward = 0.1  // all equal
        case 27: reward = Float(rng.uniform(-1, 2))
        default: reward = rng.uniform() < 0.5 ? 1 : 0
        }
        if ids[g] == 11 { reward = j == 0 ? 1 : (j == 1 ? 0 : reward) }  // spread guaranteed
        if ids[g] == 19 && j < 2 { reward = Float(j) }
        rows.append((ids[g], reward))
      }
    }
    // A deterministic shuffle.
    for i in stride(from: rows.count - 1, to: 0, by: -1) { rows.swapAt(i, rng.int(i + 1)) }
    let n = rows.count, t = 7
    var lengths = (0..<n).map { _ in 1 + rng.int(t) }
    lengths[2] = 0  // a row with no counted token
    lengths[5] = t  // a full row (longer than max_response_tokens = 6)
    lengths[7] = 6
    lengths[9] = 5
    lengths[11] = 4
    var mask = [Float](repeating: 0, count: n * t), behavior = mask, logprobs = mask, ref = mask
    var values = mask, oldValues = mask
    for i in 0..<n {
      var rowTargets: [Double] = []
      if case .sequences(let edges, let delta) = placement {
        let choices = edges.flatMap { [$0 - delta, $0 + delta] } + [1.0, exp(0.3 * rng.normal())]
        let s = choices[rng.int(choices.count)]
        // zero-mean scatter around log s over the row's counted tokens
        var scatter = (0..<lengths[i]).map { _ in 0.05 * rng.normal() }
        let mean = scatter.isEmpty ? 0 : scatter.reduce(0, +) / Double(scatter.count)
        scatter = scatter.map { $0 - mean }
        rowTargets = scatter.map { log(s) + $0 }
      }
      for j in 0..<t {
        let k = i * t + j
        let b = rng.uniform(-3, -0.1)
        behavior[k] = Float(b)
        ref[k] = Float(b + 0.4 * rng.normal())
        oldValues[k] = Float(0.5 + 0.3 * rng.normal())
        if j < lengths[i] {
          mask[k] = 1
          var x: Double
          switch placement {
          case .tokens(let edges):
            let choices = edges.flatMap { [$0 * 0.98, $0 * 0.999, $0 * 1.001, $0 * 1.02] } + [1.0, exp(0.5 * rng.normal())]
            x = log(choices[rng.int(choices.count)])
          case .sequences:
            x = rowTargets[j]
          }
          logprobs[k] = Float(b + x)
          // values: inside the clip range, or 0.02 inside / outside its edges, either side
          let dv = [0.0, 0.05, valueClip * 0.9, valueClip * 1.1, valueClip * 2][rng.int(5)] * (rng.uniform() < 0.5 ? -1 : 1)
          values[k] = Float(Double(oldValues[k]) + dv)
        } else {
          // padding may hold anything finite
          logprobs[k] = Float(rng.uniform(-5, 0))
          values[k] = Float(rng.normal())
        }
      }
    }
    return RolloutBatch(numSequences: n, numTokens: t, groupIDs: rows.map(\.gid), rewards: rows.map(\.reward), mask: mask,
                        behaviorLogprobs: behavior, logprobs: logprobs, refLogprobs: ref, values: values, oldValues: oldValues,
                        maxResponseTokens: 6)
  }

  // MARK: - The batch in double

  struct B64 {
    let n: Int, t: Int
    let gid: [Int32]
    let r: [Double], m: [Double], old: [Double], lp: [Double]
    let ref: [Double]?, v: [Double]?, ov: [Double]?, adv: [Double]?
    let lmax: Double
    init(_ b: RolloutBatch) {
      n = b.numSequences; t = b.numTokens; gid = b.groupIDs
      r = b.rewards.map(Double.init); m = b.mask.map(Double.init)
      old = b.behaviorLogprobs.map(Double.init); lp = b.logprobs.map(Double.init)
      ref = b.refLogprobs?.map(Double.init); v = b.values?.map(Double.init); ov = b.oldValues?.map(Double.init)
      adv = b.advantages?.map(Double.init)
      lmax = Double(b.maxResponseTokens)
    }
    /// |o_i| = sum_t m_t
    func len(_ i: Int) -> Double { var s = 0.0; for j in 0..<t { s += m[i * t + j] }; return s }
    /// sum_i |o_i|
    var totalLen: Double { var s = 0.0; for i in 0..<n { s += len(i) }; return s }
    /// the rows of row i's group (same id)
    func group(_ i: Int) -> [Int] { (0..<n).filter { gid[$0] == gid[i] } }
  }

  struct Reference {
    var adv: [Double]
    var loss: Double = 0
    var dlogp: [Double] = []
    var dvalues: [Double]? = nil
    var metrics: [String: Double] = [:]
  }

  // MARK: - References, from docs/algorithms.md

  /// GRPO section: A_i = (r_i - mean_G r) / (std_G r + eps), population std; 0 for a group
  /// of one row or equal rewards; `normalize = false` is A_i = r_i - mean_G r (Dr. GRPO).
  static func groupNormalized(_ b: B64, rewards: [Double], eps: Double, normalize: Bool) -> [Double] {
    var rowAdv = [Double](repeating: 0, count: b.n)
    for i in 0..<b.n {
      let g = b.group(i)
      if g.count < 2 { continue }
      var mean = 0.0
      for j in g { mean += rewards[j] }
      mean /= Double(g.count)
      var varsum = 0.0
      var allEqual = true
      for j in g {
        varsum += (rewards[j] - mean) * (rewards[j] - mean)
        if rewards[j] != rewards[g[0]] { allEqual = false }
      }
      if allEqual { continue }
      let std = (varsum / Double(g.count)).squareRoot()
      rowAdv[i] = normalize ? (rewards[i] - mean) / (std + eps) : rewards[i] - mean
    }
    return broadcast(b, rowAdv)
  }

  /// RLOO section: A_i = x_i - (1/(G-1)) sum_{j != i} x_j; 0 for a group of one row.
  static func leaveOneOut(_ b: B64, _ x: [Double]) -> [Double] {
    var rowAdv = [Double](repeating: 0, count: b.n)
    for i in 0..<b.n {
      let g = b.group(i)
      if g.count < 2 { continue }
      var others = 0.0
      for j in g where j != i { others += x[j] }
      rowAdv[i] = x[i] - others / Double(g.count - 1)
    }
    return broadcast(b, rowAdv)
  }

  static func broadcast(_ b: B64, _ rowAdv: [Double]) -> [Double] {
    var out = [Double](repeating: 0, count: b.n * b.t)
    for i in 0..<b.n { for j in 0..<b.t where b.m[i * b.t + j] != 0 { out[i * b.t + j] = rowAdv[i] } }
    return out
  }

  /// -min(rho A, clip(rho, 1 - lo, 1 + hi) A) and its derivative in logp: the unclipped branch
  /// (ties included) gives -rho A, the clipped one 0.
  static func clippedLoss(rho: Double, a: Double, epsLow: Double, epsHigh: Double) -> (loss: Double, grad: Double, clipped: Bool) {
    let c = min(max(rho, 1 - epsLow), 1 + epsHigh)
    if rho * a <= c * a { return (-rho * a, -rho * a, false) }
    return (-c * a, 0, true)
  }

  /// GRPO / RLOO loss: (1/N) sum_i (1/|o_i|) sum_t m_t [-min(...) + beta KL_t], k3 KL to ref.
  static func sequenceMeanLoss(_ b: B64, epsLow: Double, epsHigh: Double, beta: Double) -> Reference {
    var out = Reference(adv: [], dlogp: [Double](repeating: 0, count: b.n * b.t))
    let adv = b.adv!
    var clipped = 0.0, tokens = 0.0, policy = 0.0
    for i in 0..<b.n {
      let len = b.len(i)
      if len == 0 { continue }
      for j in 0..<b.t {
        let k = i * b.t + j, m = b.m[k]
        if m == 0 { continue }
        let rho = exp(b.lp[k] - b.old[k])
        let c = clippedLoss(rho: rho, a: adv[k], epsLow: epsLow, epsHigh: epsHigh)
        var kl = 0.0, dkl = 0.0
        if beta > 0 {
          let x = b.ref![k] - b.lp[k]
          kl = exp(x) - x - 1
          dkl = 1 - exp(x)
        }
        out.loss += m / (Double(b.n) * len) * (c.loss + beta * kl)
        policy += m / (Double(b.n) * len) * c.loss
        out.dlogp[k] = m / (Double(b.n) * len) * (c.grad + beta * dkl)
        if c.clipped { clipped += m }
        tokens += m
      }
    }
    out.metrics = ["loss_policy": policy, "clip_fraction": clipped / tokens]
    return out
  }

  /// Dr. GRPO / DAPO / REINFORCE++ / PPO policy loss: (1/D) sum_{i,t} m_t [-min(...) + beta KL_t].
  static func tokenSumLoss(_ b: B64, epsLow: Double, epsHigh: Double, beta: Double, denominator: Double) -> Reference {
    var out = Reference(adv: [], dlogp: [Double](repeating: 0, count: b.n * b.t))
    let adv = b.adv!
    var clipped = 0.0, tokens = 0.0, policy = 0.0
    for k in 0..<(b.n * b.t) where b.m[k] != 0 {
      let m = b.m[k]
      let rho = exp(b.lp[k] - b.old[k])
      let c = clippedLoss(rho: rho, a: adv[k], epsLow: epsLow, epsHigh: epsHigh)
      var kl = 0.0, dkl = 0.0
      if beta > 0 {
        let x = b.ref![k] - b.lp[k]
        kl = exp(x) - x - 1
        dkl = 1 - exp(x)
      }
      out.loss += m / denominator * (c.loss + beta * kl)
      policy += m / denominator * c.loss
      out.dlogp[k] = m / denominator * (c.grad + beta * dkl)
      if c.clipped { clipped += m }
      tokens += m
    }
    out.metrics = ["loss_policy": policy, "clip_fraction": clipped / tokens]
    return out
  }

  static func grpo(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = b.adv == nil ? Reference(adv: []) : sequenceMeanLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: hp["kl_beta"]!)
    out.adv = groupNormalized(b, rewards: b.r, eps: hp["adv_eps"]!, normalize: hp["std_normalize"]! != 0)
    return out
  }

  static func drGRPO(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = b.adv == nil ? Reference(adv: [])
      : tokenSumLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: hp["kl_beta"]!, denominator: Double(b.n) * b.lmax)
    out.adv = groupNormalized(b, rewards: b.r, eps: 0, normalize: false)
    return out
  }

  /// DAPO: R_len on |o_i| against L_max = max_response_tokens, L_cache = fraction * L_max.
  static func dapoShaped(_ b: B64, _ hp: [String: Double]) -> [Double] {
    guard hp["overlong_shaping"]! != 0 else { return b.r }
    let lmax = b.lmax, lcache = hp["overlong_fraction"]! * lmax
    return (0..<b.n).map { i in
      let o = b.len(i)
      let penalty: Double
      if o <= lmax - lcache { penalty = 0 } else if o <= lmax { penalty = ((lmax - lcache) - o) / lcache } else { penalty = -1 }
      return b.r[i] + penalty
    }
  }

  static func dapo(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = b.adv == nil ? Reference(adv: [])
      : tokenSumLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: 0, denominator: b.totalLen)
    out.adv = groupNormalized(b, rewards: dapoShaped(b, hp), eps: hp["adv_eps"]!, normalize: true)
    return out
  }

  /// DAPO's dynamic sampling: keep the rows of groups whose raw rewards are not all equal.
  static func dapoKeep(_ b: B64) -> [Bool] {
    (0..<b.n).map { i in
      let g = b.group(i)
      return g.count > 1 && g.contains { b.r[$0] != b.r[g[0]] }
    }
  }

  static func gspo(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = Reference(adv: groupNormalized(b, rewards: b.r, eps: hp["adv_eps"]!, normalize: true))
    guard let adv = b.adv else { return out }
    out.dlogp = [Double](repeating: 0, count: b.n * b.t)
    let lo = hp["clip_low"]!, hi = hp["clip_high"]!
    var clippedSeq = 0.0, seqs = 0.0
    for i in 0..<b.n {
      let len = b.len(i)
      if len == 0 { continue }
      var logS = 0.0, a = 0.0
      for j in 0..<b.t {
        let k = i * b.t + j
        logS += b.m[k] * (b.lp[k] - b.old[k])
        a += b.m[k] * adv[k]
      }
      logS /= len
      a /= len
      let s = exp(logS)
      let c = clippedLoss(rho: s, a: a, epsLow: lo, epsHigh: hi)
      out.loss += c.loss / Double(b.n)
      for j in 0..<b.t { out.dlogp[i * b.t + j] = c.grad / Double(b.n) * b.m[i * b.t + j] / len }
      seqs += 1
      if c.clipped { clippedSeq += 1 }
    }
    out.metrics = ["loss_policy": out.loss, "clip_fraction_sequences": clippedSeq / seqs]
    return out
  }

  static func cispo(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = Reference(adv: groupNormalized(b, rewards: b.r, eps: hp["adv_eps"]!, normalize: true))
    guard let adv = b.adv else { return out }
    out.dlogp = [Double](repeating: 0, count: b.n * b.t)
    let lo = 1 - hp["clip_low"]!, hi = 1 + hp["clip_high"]!
    let total = b.totalLen
    var clipped = 0.0
    for k in 0..<(b.n * b.t) where b.m[k] != 0 {
      let x = b.lp[k] - b.old[k], rho = exp(x)
      let w: Double, f: Double
      if rho > hi {
        w = hi; f = hi * (1 + x - log(hi)); clipped += b.m[k]
      } else if rho < lo {
        w = lo; f = lo * (1 + x - log(lo)); clipped += b.m[k]
      } else {
        w = rho; f = rho
      }
      out.loss += -b.m[k] * adv[k] * f / total
      out.dlogp[k] = -b.m[k] * w * adv[k] / total
    }
    out.metrics = ["loss_policy": out.loss, "clip_fraction": clipped / total]
    return out
  }

  static func rloo(_ b: B64, _ hp: [String: Double]) -> Reference {
    var out = b.adv == nil ? Reference(adv: []) : sequenceMeanLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: hp["kl_beta"]!)
    out.adv = leaveOneOut(b, b.r)
    return out
  }

  /// r_t = -beta m_t (logp_old_t - ref_t) + [t = last counted] r_i, 0 on padding.
  static func tokenRewards(_ b: B64, beta: Double) -> [Double] {
    var out = [Double](repeating: 0, count: b.n * b.t)
    for i in 0..<b.n {
      var last = -1
      for j in 0..<b.t where b.m[i * b.t + j] != 0 {
        let k = i * b.t + j
        if beta > 0 { out[k] = -beta * b.m[k] * (b.old[k] - b.ref![k]) }
        last = j
      }
      if last >= 0 { out[i * b.t + last] += b.r[i] }
    }
    return out
  }

  /// (x - mean_B x) / (std_B x + eps), mask-weighted over counted tokens, population std.
  static func whiten(_ b: B64, _ x: [Double], eps: Double) -> [Double] {
    var w = 0.0, sum = 0.0
    for k in 0..<(b.n * b.t) where b.m[k] != 0 { w += b.m[k]; sum += b.m[k] * x[k] }
    let mean = sum / w
    var v = 0.0
    for k in 0..<(b.n * b.t) where b.m[k] != 0 { v += b.m[k] * (x[k] - mean) * (x[k] - mean) }
    let std = (v / w).squareRoot()
    return (0..<(b.n * b.t)).map { b.m[$0] != 0 ? (x[$0] - mean) / (std + eps) : 0 }
  }

  static func reinforcePP(_ b: B64, _ hp: [String: Double]) -> Reference {
    let r = tokenRewards(b, beta: hp["kl_beta"]!), gamma = hp["gamma"]!
    var g = [Double](repeating: 0, count: b.n * b.t)
    for i in 0..<b.n {
      // G_t = r_t + gamma G_t' over counted tokens, t' the next counted token
      var next = 0.0
      for j in stride(from: b.t - 1, through: 0, by: -1) where b.m[i * b.t + j] != 0 {
        next = r[i * b.t + j] + gamma * next
        g[i * b.t + j] = next
      }
    }
    var out = b.adv == nil ? Reference(adv: [])
      : tokenSumLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: 0, denominator: b.totalLen)
    out.adv = whiten(b, g, eps: hp["adv_eps"]!)
    return out
  }

  /// PPO's GAE on old_values: (A_t raw, R_t = A_t + V_t).
  static func gae(_ b: B64, _ hp: [String: Double]) -> (adv: [Double], ret: [Double]) {
    let r = tokenRewards(b, beta: hp["kl_beta"]!), gamma = hp["gamma"]!, lambda = hp["gae_lambda"]!
    var adv = [Double](repeating: 0, count: b.n * b.t), ret = adv
    for i in 0..<b.n {
      let counted = (0..<b.t).filter { b.m[i * b.t + $0] != 0 }
      for (p, j) in counted.enumerated() {
        // A_t = sum_l (gamma lambda)^l delta_{t+l} over the following counted tokens
        var a = 0.0
        for l in 0..<(counted.count - p) {
          let jj = counted[p + l]
          let vNext = p + l + 1 < counted.count ? b.ov![i * b.t + counted[p + l + 1]] : 0
          let delta = r[i * b.t + jj] + gamma * vNext - b.ov![i * b.t + jj]
          a += pow(gamma * lambda, Double(l)) * delta
        }
        adv[i * b.t + j] = a
        ret[i * b.t + j] = a + b.ov![i * b.t + j]
      }
    }
    return (adv, ret)
  }

  static func ppo(_ b: B64, _ hp: [String: Double]) -> Reference {
    let (raw, ret) = gae(b, hp)
    let adv = hp["normalize_advantages"]! != 0 ? whiten(b, raw, eps: hp["adv_eps"]!) : raw
    guard b.adv != nil else { return Reference(adv: adv) }
    let total = b.totalLen
    var out = tokenSumLoss(b, epsLow: hp["clip_low"]!, epsHigh: hp["clip_high"]!, beta: 0, denominator: total)
    out.adv = adv
    let vfCoef = hp["vf_coef"]!, vfClip = hp["vf_clip"]!
    var valueLoss = 0.0, clippedV = 0.0
    var dv = [Double](repeating: 0, count: b.n * b.t)
    for k in 0..<(b.n * b.t) where b.m[k] != 0 {
      let v = b.v![k], vOld = b.ov![k]
      let vc = vOld + min(max(v - vOld, -vfClip), vfClip)
      let lu = (v - ret[k]) * (v - ret[k]), lc = (vc - ret[k]) * (vc - ret[k])
      valueLoss += b.m[k] * 0.5 * max(lu, lc) / total
      dv[k] = lu >= lc ? vfCoef * b.m[k] / total * (v - ret[k]) : 0
      if lu < lc { clippedV += b.m[k] }
    }
    out.loss += vfCoef * valueLoss
    out.dvalues = dv
    out.metrics["value_loss"] = valueLoss
    out.metrics["value_clip_fraction"] = clippedV / total
    return out
  }

  static func mdloo(_ b: B64, _ hp: [String: Double]) -> Reference {
    let beta = hp["kl_beta"]!, eta = hp["md_eta"]!
    var shaped = b.r
    for i in 0..<b.n {
      var kl = 0.0
      for j in 0..<b.t where b.m[i * b.t + j] != 0 { kl += b.m[i * b.t + j] * (b.old[i * b.t + j] - b.ref![i * b.t + j]) }
      shaped[i] -= beta * kl
    }
    var out = Reference(adv: leaveOneOut(b, shaped))
    guard let adv = b.adv else { return out }
    out.dlogp = [Double](repeating: 0, count: b.n * b.t)
    var policy = 0.0, md = 0.0
    for i in 0..<b.n {
      let len = b.len(i)
      if len == 0 { continue }
      for j in 0..<b.t where b.m[i * b.t + j] != 0 {
        let k = i * b.t + j, m = b.m[k]
        let rho = exp(b.lp[k] - b.old[k])
        let x = b.old[k] - b.lp[k]
        let kl = exp(x) - x - 1
        let w = m / (Double(b.n) * len)
        policy += w * -rho * adv[k]
        md += w * kl
        out.dlogp[k] = w * (-rho * adv[k] + eta * (1 - 1 / rho))
      }
    }
    out.loss = policy + eta * md
    out.metrics = ["loss_policy": policy, "md_kl": md]
    return out
  }

  // MARK: - Comparison

  static let rel = 1e-5, abs = 1e-7

  func assertClose(_ got: [Float], _ want: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "\(what): count", file: file, line: line)
    var bad: [String] = []
    // written as !(within) so that a NaN counts as a difference
    for k in 0..<min(got.count, want.count) where !(Swift.abs(Double(got[k]) - want[k]) <= Self.abs + Self.rel * Swift.abs(want[k])) {
      bad.append("[\(k)] plugin \(got[k]) vs reference \(want[k])")
    }
    XCTAssertTrue(bad.isEmpty, "\(what): \(bad.count) of \(got.count) differ beyond \(Self.rel) rel + \(Self.abs) abs, e.g. \(bad.prefix(3).joined(separator: ", "))",
                  file: file, line: line)
  }

  func assertClose(_ got: Double?, _ want: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let got else { return XCTFail("\(what): missing", file: file, line: line) }
    XCTAssertTrue(Swift.abs(got - want) <= Self.abs + Self.rel * Swift.abs(want), "\(what): plugin \(got) vs reference \(want)", file: file, line: line)
  }

  /// Runs `name` with `options` on random batches and compares it with `reference`.
  func check(_ name: String, _ options: [(String, String)] = [], placement: (([String: Double]) -> RatioPlacement)? = nil,
             seeds: [UInt64] = [1, 2, 3, 4], reference: (B64, [String: Double]) -> Reference,
             file: StaticString = #filePath, line: UInt = #line) throws {
    let alg = try algorithm(name, options)
    let hp = try hyperparameters(name, alg, options, file: file, line: line)
    let label = "\(name)\(options.isEmpty ? "" : " " + options.map { "\($0.0)=\($0.1)" }.joined(separator: ","))"
    var sawClipped = false, sawUnclippedOutside = false
    for seed in seeds {
      let lo = hp["clip_low"] ?? 0.2, hi = hp["clip_high"] ?? 0.2
      let place = placement?(hp) ?? .tokens(edges: [1 - lo, 1 + hi])
      var batch = randomBatch(seed: seed, placement: place, valueClip: hp["vf_clip"] ?? 0.2)
      let want = reference(B64(batch), hp)
      let adv = try alg.computeAdvantages(batch)
      assertClose(adv, want.adv, "\(label) seed \(seed): advantages", file: file, line: line)
      XCTAssertTrue(want.adv.contains { $0 > 0.01 } && want.adv.contains { $0 < -0.01 }, "advantages of both signs", file: file, line: line)
      // The loss on the reference's advantages (as float), so both sides see the same batch.
      batch.advantages = want.adv.map { Float($0) }
      let b64 = B64(batch)
      let wantLoss = reference(b64, hp)
      let got = try alg.computeLoss(batch)
      assertClose(got.loss, wantLoss.loss, "\(label) seed \(seed): loss", file: file, line: line)
      assertClose(got.dlossDlogprobs, wantLoss.dlogp, "\(label) seed \(seed): dloss/dlogprobs", file: file, line: line)
      if let dv = wantLoss.dvalues {
        assertClose(got.dlossDvalues ?? [], dv, "\(label) seed \(seed): dloss/dvalues", file: file, line: line)
      }
      for (metric, value) in wantLoss.metrics.sorted(by: { $0.key < $1.key }) {
        assertClose(got.metrics[metric], value, "\(label) seed \(seed): metric \(metric)", file: file, line: line)
      }
      if let cf = wantLoss.metrics["clip_fraction"] ?? wantLoss.metrics["clip_fraction_sequences"], cf > 0 { sawClipped = true }
      // a token (or sequence) outside the range that the min leaves unclipped
      for k in 0..<(b64.n * b64.t) where b64.m[k] != 0 {
        let rho = exp(b64.lp[k] - b64.old[k])
        if (rho > 1 + hi && b64.adv![k] < 0) || (rho < 1 - lo && b64.adv![k] > 0) { sawUnclippedOutside = true }
      }
    }
    if hp["clip_low"] != nil && name != "cispo" && name != "gspo" {
      XCTAssertTrue(sawClipped && sawUnclippedOutside, "\(label): the batches reach both branches of the clip", file: file, line: line)
    }
  }

  // MARK: - Against the reference on random batches

  func testGRPOAgainstFloat64Reference() throws {
    try check("grpo", reference: Self.grpo)
    try check("grpo", [("std_normalize", "0"), ("kl_beta", "0.3"), ("clip_high", "0.28")], reference: Self.grpo)
    // eps = 0: a group of equal rewards still gets 0 (no 0 / 0).
    try check("grpo", [("adv_eps", "0")], reference: Self.grpo)
  }

  func testDrGRPOAgainstFloat64Reference() throws {
    try check("dr-grpo", reference: Self.drGRPO)
    try check("dr-grpo", [("kl_beta", "0.1"), ("clip_low", "0.1")], reference: Self.drGRPO)
  }

  func testDAPOAgainstFloat64Reference() throws {
    try check("dapo", reference: Self.dapo)
    // L_cache = 3 of L_max = 6: lengths 4, 5 fall in the soft interval, 7 beyond L_max.
    try check("dapo", [("overlong_fraction", "0.5")], reference: Self.dapo)
    try check("dapo", [("overlong_shaping", "0"), ("adv_eps", "0")], reference: Self.dapo)
    // select_sequences: groups whose raw rewards are not all equal.
    let alg = try algorithm("dapo")
    for seed: UInt64 in [1, 2, 3] {
      let batch = randomBatch(seed: seed, placement: .tokens(edges: [0.8, 1.28]))
      let keep = try alg.selectSequences(batch)
      XCTAssertEqual(keep, Self.dapoKeep(B64(batch)), "dapo seed \(seed): select_sequences keeps the groups with spread")
      XCTAssertTrue(keep?.contains(false) == true && keep?.contains(true) == true)
    }
  }

  func testGSPOAgainstFloat64Reference() throws {
    // The sequence ratio s_i at each edge -/+ 1e-4 (eps 3e-4 / 4e-4), at 1, or free.
    try check("gspo", placement: { hp in .sequences(edges: [1 - hp["clip_low"]!, 1 + hp["clip_high"]!], delta: 1e-4) },
              seeds: [1, 2, 3, 4, 5, 6], reference: Self.gspo)
    try check("gspo", [("clip_low", "0.2"), ("clip_high", "0.2"), ("adv_eps", "0")],
              placement: { _ in .sequences(edges: [0.8, 1.2], delta: 0.02) }, reference: Self.gspo)
  }

  func testCISPOAgainstFloat64Reference() throws {
    // Default: no lower bound (lo = 0); the upper edge 1.28.
    try check("cispo", placement: { _ in .tokens(edges: [0.5, 1.28]) }, reference: Self.cispo)
    try check("cispo", [("clip_low", "0.2"), ("adv_eps", "0")], reference: Self.cispo)
  }

  func testRLOOAgainstFloat64Reference() throws {
    try check("rloo", reference: Self.rloo)
    try check("rloo", [("kl_beta", "0.2")], reference: Self.rloo)
  }

  func testREINFORCEPPAgainstFloat64Reference() throws {
    try check("reinforce-pp", reference: Self.reinforcePP)
    try check("reinforce-pp", [("gamma", "0.9"), ("kl_beta", "0.3")], reference: Self.reinforcePP)
  }

  func testPPOAgainstFloat64Reference() throws {
    try check("ppo", reference: Self.ppo)
    try check("ppo", [("gamma", "0.9"), ("gae_lambda", "0.8"), ("kl_beta", "0.1"), ("normalize_advantages", "0"), ("vf_clip", "0.3")],
              reference: Self.ppo)
  }

  func testMDLOOAgainstFloat64Reference() throws {
    try check("mdloo", reference: Self.mdloo)
    try check("mdloo", [("kl_beta", "0"), ("md_eta", "0.5")], reference: Self.mdloo)
  }
}

// MARK: - Small cases worked out by hand

extension AlgorithmFormulaTests {
  /// exp(logp - logp_old) = rho with logp_old = 0.
  static func lp(_ rho: Double) -> Float { Float(log(rho)) }

  func assertValues(_ got: [Float], _ want: [Double], accuracy: Double = 1e-6, _ what: String,
                    file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, what, file: file, line: line)
    for (k, (g, w)) in zip(got, want).enumerated() {
      XCTAssertEqual(Double(g), w, accuracy: accuracy, "\(what)[\(k)]", file: file, line: line)
    }
  }

  /// Two rows of one group, rewards {1, 0}, T = 2; row 1's second token is padding.
  /// Row 0: rho = {1, 1.5}; row 1: rho = 0.5. logp_old = 0.
  func twoRowBatch(rewards: [Float] = [1, 0], maxResponseTokens: Int = 4, ref: [Float]? = nil) -> RolloutBatch {
    RolloutBatch(numSequences: 2, numTokens: 2, groupIDs: [3, 3], rewards: rewards, mask: [1, 1, 1, 0],
                 behaviorLogprobs: [0, 0, 0, 0], logprobs: [Self.lp(1), Self.lp(1.5), Self.lp(0.5), -7], refLogprobs: ref,
                 maxResponseTokens: maxResponseTokens)
  }

  func testGRPOHandWorked() throws {
    // adv_eps = 0: mean 0.5, population std 0.5, A = {+1, -1}.
    // Row 0 (A = +1, |o| = 2): rho 1 -> min(1, 1) = 1 (unclipped); rho 1.5 -> min(1.5, 1.2) = 1.2 (clipped).
    // Row 1 (A = -1, |o| = 1): rho 0.5 -> min(-0.5, -0.8) = -0.8 (clipped).
    // KL (beta 0.04): ref = logp on row 0; row 1 ref - logp = ln 2: KL = 2 - ln 2 - 1 = 0.30685282,
    //   dKL/dlogp = 1 - 2 = -1.
    // L = (1/2) [ (1/2)(-1 - 1.2) + (1/1)(0.8 + 0.04 * 0.30685282) ] = (1/2)(-1.1 + 0.81227411) = -0.14386294
    // dL/dlogp: [0,0] = (1/(2*2)) (-1) = -0.25; [0,1] = 0 (clipped); [1,0] = (1/2)(0 + 0.04 (-1)) = -0.02.
    let grpo = try algorithm("grpo", [("adv_eps", "0")])
    var batch = twoRowBatch(ref: [Self.lp(1), Self.lp(1.5), Self.lp(1), 0])
    let adv = try grpo.computeAdvantages(batch)
    assertValues(adv, [1, 1, -1, 0], "grpo advantages")
    batch.advantages = adv
    let r = try grpo.computeLoss(batch)
    XCTAssertEqual(r.loss, -0.14386294, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, [-0.25, 0, -0.02, 0], "grpo dL/dlogp")
    XCTAssertEqual(r.metrics["clip_fraction"] ?? -1, 2.0 / 3, accuracy: 1e-9)
    // A group of four, rewards {1, 0, 0, 1}, default eps 1e-6: A = +-0.5 / (0.5 + 1e-6) = +-0.999998.
    let four = try algorithm("grpo").computeAdvantages(
      RolloutBatch(numSequences: 4, numTokens: 1, groupIDs: [1, 1, 1, 1], rewards: [1, 0, 0, 1], mask: [1, 1, 1, 1],
                   behaviorLogprobs: [0, 0, 0, 0], logprobs: [0, 0, 0, 0]))
    assertValues(four, [0.999998, -0.999998, -0.999998, 0.999998], "grpo {1,0,0,1}")
  }

  func testDrGRPOHandWorked() throws {
    // A = r - mean = {+0.5, -0.5}; no std division.
    // Surrogates: 0.5 * 1 = 0.5; 0.5 * min(1.5, 1.2) = 0.6 (clipped); -0.5 -> min(-0.25, -0.4) = -0.4 (clipped).
    // L = -(0.5 + 0.6 - 0.4) / (N L_max) = -0.7 / (2 * 4) = -0.0875; dL/dlogp[0,0] = -0.5 * 1 / 8 = -0.0625.
    let dr = try algorithm("dr-grpo")
    var batch = twoRowBatch()
    let adv = try dr.computeAdvantages(batch)
    assertValues(adv, [0.5, 0.5, -0.5, 0], "dr-grpo advantages")
    batch.advantages = adv
    let r = try dr.computeLoss(batch)
    XCTAssertEqual(r.loss, -0.0875, accuracy: 1e-7)
    assertValues(r.dlossDlogprobs, [-0.0625, 0, 0, 0], "dr-grpo dL/dlogp")
    XCTAssertEqual(r.metrics["clip_fraction"] ?? -1, 2.0 / 3, accuracy: 1e-9)
    // L_max = 10 instead: the same sum over 2 * 10.
    batch.maxResponseTokens = 10
    XCTAssertEqual(try dr.computeLoss(batch).loss, -0.7 / 20, accuracy: 1e-7)
  }

  func testDAPOHandWorked() throws {
    // L_max = 10, L_cache = 0.2 * 10 = 2: R_len(8) = 0, R_len(9) = (8 - 9)/2 = -0.5, R_len(10) = -1, R_len(11) = -1.
    // Four reward-1 rows of lengths 8, 9, 10, 11: shaped {1, 0.5, 0, 0}, mean 0.375,
    // var = (0.625^2 + 0.125^2 + 0.375^2 + 0.375^2)/4 = 0.171875, std = 0.41457809.
    // A = (shaped - 0.375) / (0.41457809 + 1e-6) = {1.50754, 0.30151, -0.90453, -0.90453}.
    let dapo = try algorithm("dapo")
    let t = 11
    var mask = [Float](repeating: 0, count: 4 * t)
    for (i, len) in [8, 9, 10, 11].enumerated() { for j in 0..<len { mask[i * t + j] = 1 } }
    let group = RolloutBatch(numSequences: 4, numTokens: t, groupIDs: [0, 0, 0, 0], rewards: [1, 1, 1, 1], mask: mask,
                             behaviorLogprobs: [Float](repeating: 0, count: 4 * t), logprobs: [Float](repeating: 0, count: 4 * t),
                             maxResponseTokens: 10)
    let adv = try dapo.computeAdvantages(group)
    let std = 0.171875.squareRoot()
    for (i, shaped) in [1.0, 0.5, 0, 0].enumerated() {
      XCTAssertEqual(Double(adv[i * t]), (shaped - 0.375) / (std + 1e-6), accuracy: 1e-6, "dapo shaped advantage row \(i)")
    }
    XCTAssertEqual(Double(adv[0]), 1.5075567, accuracy: 1e-5)
    // Raw rewards all 1: dynamic sampling drops the group; with shaping off the advantages are 0.
    XCTAssertEqual(try dapo.selectSequences(group), [false, false, false, false])
    XCTAssertEqual(try algorithm("dapo", [("overlong_shaping", "0")]).computeAdvantages(group), [Float](repeating: 0, count: 4 * t))
    // Loss, token-level: the two-row batch of Dr. GRPO with A = {+0.5, -0.5}, eps_high 0.28:
    // 0.5, 0.5 * min(1.5, 1.28) = 0.64 (clipped), -0.4 (clipped); L = -(0.5 + 0.64 - 0.4) / 3 = -0.24666667
    // (3 counted tokens), dL/dlogp[0,0] = -0.5 / 3.
    var batch = twoRowBatch()
    batch.advantages = [0.5, 0.5, -0.5, 0]
    let r = try dapo.computeLoss(batch)
    XCTAssertEqual(r.loss, -0.74 / 3, accuracy: 1e-7)
    assertValues(r.dlossDlogprobs, [-0.5 / 3, 0, 0, 0], "dapo dL/dlogp")
  }

  func testGSPOHandWorked() throws {
    // eps 0.2/0.2, N = 2, row 1 empty. Row 0: log ratios 0.1 and 0.3 -> s = exp(0.2) = 1.22140276.
    // A = +1: min(1.2214, 1.2) = 1.2, clipped: L = -1.2 / 2 = -0.6, no gradient.
    // A = -1: min(-1.2214, -1.2) = -1.2214, unclipped: L = 1.22140276 / 2 = 0.61070138,
    //   dL/dlogp = (1/N) s (-A) m_t/|o| = 1.22140276 / 4 = 0.30535069 on both tokens.
    let gspo = try algorithm("gspo", [("clip_low", "0.2"), ("clip_high", "0.2")])
    var batch = RolloutBatch(numSequences: 2, numTokens: 2, groupIDs: [0, 0], rewards: [1, 0], mask: [1, 1, 0, 0],
                             behaviorLogprobs: [-1, -2, -1, -1], logprobs: [-0.9, -1.7, -1, -1])
    batch.advantages = [1, 1, 0, 0]
    var r = try gspo.computeLoss(batch)
    XCTAssertEqual(r.loss, -0.6, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, [0, 0, 0, 0], "gspo clipped")
    batch.advantages = [-1, -1, 0, 0]
    r = try gspo.computeLoss(batch)
    XCTAssertEqual(r.loss, exp(0.2) / 2, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, [exp(0.2) / 4, exp(0.2) / 4, 0, 0], "gspo unclipped")
    // Advantages: rewards {1, 0}, adv_eps 0: +-1 on the counted tokens.
    assertValues(try algorithm("gspo", [("adv_eps", "0")]).computeAdvantages(batch), [1, 1, 0, 0], "gspo advantages")
  }

  func testCISPOHandWorked() throws {
    // Defaults (lo = 0, hi = 1.28), two tokens, sum|o| = 2.
    // rho = 2, A = +1: w = 1.28, F = 1.28 (1 + ln 2 - ln 1.28) = 1.85124749; gradient -1.28 * 1 / 2 = -0.64.
    // rho = 0.5, A = -1: w = 0.5 (no lower clip), F = 0.5; gradient -0.5 * (-1) / 2 = +0.25.
    // L = -(1 * 1.85124749 + (-1) * 0.5) / 2 = -0.67562375.
    let cispo = try algorithm("cispo")
    var batch = RolloutBatch(numSequences: 2, numTokens: 1, groupIDs: [0, 0], rewards: [1, 0], mask: [1, 1],
                             behaviorLogprobs: [0, 0], logprobs: [Self.lp(2), Self.lp(0.5)])
    batch.advantages = [1, -1]
    var r = try cispo.computeLoss(batch)
    let f1 = 1.28 * (1 + log(2.0) - log(1.28))
    XCTAssertEqual(f1, 1.85124749, accuracy: 1e-7)
    XCTAssertEqual(r.loss, -(f1 - 0.5) / 2, accuracy: 1e-6)
    XCTAssertEqual(r.loss, -0.67562375, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, [-0.64, 0.25], "cispo dL/dlogp")
    XCTAssertEqual(r.metrics["clip_fraction"] ?? -1, 0.5, accuracy: 1e-9)
    // clip_low = 0.2: the second weight becomes 0.8, F = 0.8 (1 + ln 0.5 - ln 0.8) = 0.42399710, gradient +0.4.
    r = try algorithm("cispo", [("clip_low", "0.2")]).computeLoss(batch)
    XCTAssertEqual(r.loss, -(f1 - 0.8 * (1 + log(0.5) - log(0.8))) / 2, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, [-0.64, 0.4], "cispo clip_low 0.2 dL/dlogp")
  }

  func testRLOOHandWorked() throws {
    // Groups {5, 7, 5, 7, 9}, rewards {1, 2, 3, 6, 4}:
    // group 5: 1 - 3 = -2, 3 - 1 = 2; group 7: 2 - 6 = -4, 6 - 2 = 4; group 9 (one row): 0.
    // On-policy (rho = 1), lengths {2, 1, 2, 2, 1}: L = -(1/5) sum_i A_i = 0;
    // dL/dlogp = -A_i / (N |o_i|): row 0: 2/10 = 0.2, row 1: 4/5 = 0.8, row 2: -0.2, row 3: -0.4, row 4: 0.
    let rloo = try algorithm("rloo")
    var batch = RolloutBatch(numSequences: 5, numTokens: 2, groupIDs: [5, 7, 5, 7, 9], rewards: [1, 2, 3, 6, 4],
                             mask: [1, 1, 1, 0, 1, 1, 1, 1, 1, 0], behaviorLogprobs: [Float](repeating: -1, count: 10),
                             logprobs: [Float](repeating: -1, count: 10))
    let adv = try rloo.computeAdvantages(batch)
    assertValues(adv, [-2, -2, -4, 0, 2, 2, 4, 4, 0, 0], "rloo advantages")
    batch.advantages = adv
    let r = try rloo.computeLoss(batch)
    XCTAssertEqual(r.loss, 0, accuracy: 1e-7)
    assertValues(r.dlossDlogprobs, [0.2, 0.2, 0.8, 0, -0.2, -0.2, -0.4, -0.4, 0, 0], "rloo dL/dlogp")
  }

  func testREINFORCEPPHandWorked() throws {
    // beta 0.1. Row 0: mask {1, 1, 0}, reward 1, logp_old - ref = {0.5, -1}; row 1: mask {1, 1, 1},
    // reward 0, ref = logp_old.
    // token rewards {-0.05, +0.1 + 1 = 1.1 | 0, 0, 0}; returns (gamma 1) {1.05, 1.1 | 0, 0, 0};
    // mean 2.15/5 = 0.43, var = (0.62^2 + 0.67^2 + 3 * 0.43^2)/5 = 0.2776, std 0.52687759;
    // A = {0.62, 0.67, -0.43 x 3} / 0.52687759 = {1.17674, 1.27164, -0.81613 x 3}.
    // On-policy: L = -(1/5) sum A = 0 and dL/dlogp_t = -A_t / 5.
    let rpp = try algorithm("reinforce-pp", [("kl_beta", "0.1")])
    var batch = RolloutBatch(numSequences: 2, numTokens: 3, groupIDs: [0, 1], rewards: [1, 0], mask: [1, 1, 0, 1, 1, 1],
                             behaviorLogprobs: [-1, -2, -1, -1, -1, -1], logprobs: [-1, -2, -1, -1, -1, -1],
                             refLogprobs: [-1.5, -1, 0, -1, -1, -1])
    let adv = try rpp.computeAdvantages(batch)
    let std = 0.2776.squareRoot()
    let want = [0.62 / std, 0.67 / std, 0, -0.43 / std, -0.43 / std, -0.43 / std]
    assertValues(adv, want, accuracy: 1e-5, "reinforce-pp advantages")
    XCTAssertEqual(Double(adv[0]), 1.17674, accuracy: 1e-5)
    batch.advantages = adv
    let r = try rpp.computeLoss(batch)
    XCTAssertEqual(r.loss, 0, accuracy: 1e-6)
    assertValues(r.dlossDlogprobs, want.map { -$0 / 5 }, accuracy: 1e-5, "reinforce-pp dL/dlogp")
    // gamma 0.5: row 0's returns are {-0.05 + 0.5 * 1.1, 1.1} = {0.5, 1.1}: mean 1.6/5 = 0.32,
    // var = (0.18^2 + 0.78^2 + 3 * 0.32^2)/5 = 0.1896.
    let half = try algorithm("reinforce-pp", [("kl_beta", "0.1"), ("gamma", "0.5")]).computeAdvantages(batch)
    XCTAssertEqual(Double(half[0]), 0.18 / 0.1896.squareRoot(), accuracy: 1e-5)
  }

  func testPPOHandWorked() throws {
    // One row, mask {1, 1, 1, 0}, reward 1, old values {0.5, 0.6, 0.7}, gamma 1, lambda 0.95, raw advantages:
    // delta = {1*0.6 - 0.5, 0.7 - 0.6, 1 + 0 - 0.7} = {0.1, 0.1, 0.3};
    // A_2 = 0.3, A_1 = 0.1 + 0.95 * 0.3 = 0.385, A_0 = 0.1 + 0.95 * 0.385 = 0.46575;
    // R = A + V = {0.96575, 0.985, 1.0}.
    // Values {0.5, 1.0, 0.7} (vf_clip 0.2): token 0 inside: 0.5 (0.5 - 0.96575)^2 = 0.5 * 0.21692306;
    // token 1 moved 0.4: Vc = 0.8, (1 - 0.985)^2 = 0.000225 < (0.8 - 0.985)^2 = 0.034225: clipped branch, gradient 0;
    // token 2 inside: (0.7 - 1)^2 = 0.09. L_V = 0.5 (0.21692306 + 0.034225 + 0.09)/3 = 0.05685801.
    // dL/dV = vf_coef / 3 * (V - R): token 0: 0.5/3 * -0.46575 = -0.077625, token 2: 0.5/3 * -0.3 = -0.05.
    // On-policy policy loss: -(0.46575 + 0.385 + 0.3)/3 = -0.38358333; L = -0.38358333 + 0.5 * 0.05685801.
    let ppo = try algorithm("ppo", [("normalize_advantages", "0")])
    var batch = RolloutBatch(numSequences: 1, numTokens: 4, groupIDs: [0], rewards: [1], mask: [1, 1, 1, 0],
                             behaviorLogprobs: [-1, -1, -1, -1], logprobs: [-1, -1, -1, -1],
                             values: [0.5, 1.0, 0.7, 9], oldValues: [0.5, 0.6, 0.7, 9])
    let adv = try ppo.computeAdvantages(batch)
    assertValues(adv, [0.46575, 0.385, 0.3, 0], "ppo GAE advantages")
    batch.advantages = adv
    let r = try ppo.computeLoss(batch)
    XCTAssertEqual(r.metrics["value_loss"] ?? -1, 0.05685801, accuracy: 1e-6)
    XCTAssertEqual(r.metrics["loss_policy"] ?? -1, -0.38358333, accuracy: 1e-6)
    XCTAssertEqual(r.loss, -0.38358333 + 0.5 * 0.05685801, accuracy: 1e-6)
    assertValues(r.dlossDvalues ?? [], [-0.077625, 0, -0.05, 0], "ppo dL/dV")
    assertValues(r.dlossDlogprobs, [-0.46575 / 3, -0.385 / 3, -0.1, 0], "ppo dL/dlogp")
    // lambda = 1: A_t = 1 - V_t = {0.5, 0.4, 0.3}; gamma 0.5, lambda 1: A = {-0.25, -0.1, 0.3}.
    assertValues(try algorithm("ppo", [("normalize_advantages", "0"), ("gae_lambda", "1")]).computeAdvantages(batch),
                 [0.5, 0.4, 0.3, 0], "ppo lambda 1")
    assertValues(try algorithm("ppo", [("normalize_advantages", "0"), ("gae_lambda", "1"), ("gamma", "0.5")]).computeAdvantages(batch),
                 [-0.25, -0.1, 0.3, 0], "ppo gamma 0.5")
  }

  func testMDLOOHandWorked() throws {
    // Group {1, 1}: rewards {1, 0}, beta 0.05, sum_t (logp_old - ref) = {0.5, 0}: R = {1 - 0.025, 0} = {0.975, 0};
    // A = {0.975 - 0, 0 - 0.975}; row 2 alone in group 2: 0.
    // logp of token (0, 0) moved by +0.1 (|o_0| = 2, N = 3): rho = e^0.1,
    // dL/dlogp = (1/6)(-e^0.1 * 0.975 + 0.1 (1 - e^-0.1)) = -0.17800436.
    let mdloo = try algorithm("mdloo")
    var batch = RolloutBatch(numSequences: 3, numTokens: 2, groupIDs: [1, 1, 2], rewards: [1, 0, 5], mask: [1, 1, 1, 1, 1, 0],
                             behaviorLogprobs: [-1, -1, -1, -1, -1, -1], logprobs: [-0.9, -1, -1, -1, -1, -1],
                             refLogprobs: [-1.25, -1.25, -1, -1, -3, -3])
    let adv = try mdloo.computeAdvantages(batch)
    assertValues(adv, [0.975, 0.975, -0.975, -0.975, 0, 0], "mdloo advantages")
    batch.advantages = adv
    let r = try mdloo.computeLoss(batch)
    XCTAssertEqual(Double(r.dlossDlogprobs[0]), (-exp(0.1) * 0.975 + 0.1 * (1 - exp(-0.1))) / 6, accuracy: 1e-7)
    XCTAssertEqual(Double(r.dlossDlogprobs[0]), -0.17800436, accuracy: 1e-6)
    // Every other counted token is at rho = 1: -A / (N |o|), no KL gradient.
    assertValues(r.dlossDlogprobs, [-0.17800436, -0.975 / 6, 0.975 / 6, 0.975 / 6, 0, 0], "mdloo dL/dlogp")
    // L = (1/6)(-e^0.1 0.975 - 0.975 + 0.1 KL) + (1/6)(0.975 + 0.975), KL = e^-0.1 + 0.1 - 1 = 0.00483742.
    XCTAssertEqual(r.loss, (-exp(0.1) * 0.975 - 0.975 + 0.1 * (exp(-0.1) + 0.1 - 1) + 2 * 0.975) / 6, accuracy: 1e-6)
  }
}
