import Foundation
import RlaxConformance
import RlaxModel

/// Shapes and switches of the float64 reference model. Its own type (not `DecoderConfig`), so
/// the reference depends on nothing in RlaxModel but the plain `TokenBatch` data it reads.
struct RefConfig {
  var vocab: Int
  var dim: Int
  var layers: Int
  var heads: Int
  var kvHeads: Int
  var headDim: Int
  var hidden: Int
  var maxSeqLen: Int
  var qkNorm = true
  var learnedPositions = false
  var tied = true
  var theta = 500_000.0
  var eps = 1e-5
  /// A deliberate error, for the tests that show the comparison can see such errors.
  var mutation: Mutation? = nil

  enum Mutation: CaseIterable {
    case ropeTheta10000, ropeInterleavedPairs, ropeIgnoresPositions, kvHeadModulo, ignoreKStart, noAttentionScale,
         noQKNorm, causalOffByOne
  }
}

/// The batch as the reference sees it, positions filled in (0 ..< T per row unless given).
struct RefBatch {
  var b: Int, t: Int
  var tokens: [Int32], targets: [Int32], positions: [Int32], kStart: [Int32]?
  var n: Int { b * t }

  init(_ batch: TokenBatch) {
    b = batch.batch; t = batch.length
    tokens = batch.tokens; targets = batch.targets; kStart = batch.kStart
    let (bb, tt) = (b, t)
    positions = batch.positions ?? (0..<bb).flatMap { _ in (0..<tt).map(Int32.init) }
  }
}

/// A float64 forward of the whole decoder from the math in docs/model.md, built from the
/// FD-checked `Reference` ops. Parameters are a `[name: values]` map in the checkpoint layout
/// (linear weights [in, out], row-major).
struct ReferenceModel {
  var c: RefConfig

  typealias Params = [String: [Double]]

  func p(_ params: Params, _ name: String) -> [Double] {
    guard let v = params[name] else { fatalError("reference: missing parameter \(name)") }
    return v
  }

  static func add(_ a: [Double], _ b: [Double]) -> [Double] {
    precondition(a.count == b.count)
    return zip(a, b).map { $0 + $1 }
  }

  func rms(_ x: [Double], _ w: [Double], rows: Int, d: Int) -> [Double] {
    Reference.rmsnormForward(x, w, rows: rows, d: d, eps: c.eps).out
  }

  /// x @ W for x [m, k], W [k, n].
  func linear(_ x: [Double], _ w: [Double], m: Int, k: Int, n: Int) -> [Double] {
    precondition(x.count == m * k && w.count == k * n, "linear: shapes \(x.count) vs \(m)x\(k), \(w.count) vs \(k)x\(n)")
    return Reference.matmul(x, w, m: m, n: n, k: k, transposeA: false, transposeB: false)
  }

  /// The attention block's contribution o @ wo [N, D] for normed input a [N, D].
  func attention(_ a: [Double], prefix: String, _ params: Params, _ batch: RefBatch) -> [Double] {
    let n = batch.n, d = c.dim, h = c.heads, kv = c.kvHeads, dh = c.headDim
    var q = linear(a, p(params, "\(prefix).wq"), m: n, k: d, n: h * dh)
    var k = linear(a, p(params, "\(prefix).wk"), m: n, k: d, n: kv * dh)
    let v = linear(a, p(params, "\(prefix).wv"), m: n, k: d, n: kv * dh)
    if c.qkNorm && c.mutation != .noQKNorm {
      q = rms(q, p(params, "\(prefix).q_norm.scale"), rows: n * h, d: dh)
      k = rms(k, p(params, "\(prefix).k_norm.scale"), rows: n * kv, d: dh)
    }
    if !c.learnedPositions {
      q = rope(q, batch, heads: h)
      k = rope(k, batch, heads: kv)
    }
    let o = attend(q: q, k: k, v: v, batch)
    return linear(o, p(params, "\(prefix).wo"), m: n, k: h * dh, n: d)
  }

  /// Rotate-half RoPE of x [B, T, heads, Dh] at the batch's positions: pair (i, i + Dh/2)
  /// turned by p * theta^(-2i/Dh). Written out here rather than taken from `Reference`.
  func rope(_ x: [Double], _ batch: RefBatch, heads: Int) -> [Double] {
    let dh = c.headDim, half = dh / 2
    let theta = c.mutation == .ropeTheta10000 ? 10_000 : c.theta
    var out = x
    for row in 0..<batch.n {
      let pos = c.mutation == .ropeIgnoresPositions ? Double(row % batch.t) : Double(batch.positions[row])
      for hh in 0..<heads {
        let base = (row * heads + hh) * dh
        for i in 0..<half {
          let angle = pos * pow(theta, -2 * Double(i) / Double(dh))
          let (i1, i2) = c.mutation == .ropeInterleavedPairs ? (base + 2 * i, base + 2 * i + 1) : (base + i, base + i + half)
          out[i1] = x[i1] * cos(angle) - x[i2] * sin(angle)
          out[i2] = x[i1] * sin(angle) + x[i2] * cos(angle)
        }
      }
    }
    return out
  }

  /// Causal grouped-query attention, q [B,T,H,Dh], k, v [B,T,K,Dh] -> o [B,T,H,Dh]: query
  /// (b,t) of head h reads KV head h / (H/K) at keys kStart[b] <= s <= t; a query that sees
  /// no key gives 0. Written out here rather than taken from `Reference`.
  func attend(q: [Double], k: [Double], v: [Double], _ batch: RefBatch) -> [Double] {
    let h = c.heads, kv = c.kvHeads, dh = c.headDim, t = batch.t
    let scale = c.mutation == .noAttentionScale ? 1 : 1 / Double(dh).squareRoot()
    var o = [Double](repeating: 0, count: batch.n * h * dh)
    for b in 0..<batch.b {
      let start = c.mutation == .ignoreKStart ? 0 : Int(batch.kStart?[b] ?? 0)
      for hh in 0..<h {
        let kh = c.mutation == .kvHeadModulo ? hh % kv : hh / (h / kv)
        for ti in 0..<t {
          let last = c.mutation == .causalOffByOne ? min(ti + 1, t - 1) : ti
          guard start <= last else { continue }
          let qb = ((b * t + ti) * h + hh) * dh
          let keys = Array(start...last)
          let scores = keys.map { s -> Double in
            let kb = ((b * t + s) * kv + kh) * dh
            return (0..<dh).reduce(0) { $0 + q[qb + $1] * k[kb + $1] } * scale
          }
          let m = scores.max()!
          let e = scores.map { exp($0 - m) }, z = e.reduce(0, +)
          for (j, s) in keys.enumerated() {
            let vb = ((b * t + s) * kv + kh) * dh
            for ch in 0..<dh { o[qb + ch] += e[j] / z * v[vb + ch] }
          }
        }
      }
    }
    return o
  }

  /// The SwiGLU block's contribution [N, D] for normed input f [N, D].
  func feedForward(_ f: [Double], prefix: String, _ params: Params, rows n: Int) -> [Double] {
    let gate = linear(f, p(params, "\(prefix).w_gate"), m: n, k: c.dim, n: c.hidden)
    let up = linear(f, p(params, "\(prefix).w_up"), m: n, k: c.dim, n: c.hidden)
    let s = Reference.swigluForward(gate, up)
    return linear(s, p(params, "\(prefix).w_down"), m: n, k: c.hidden, n: c.dim)
  }

  /// One pre-norm block: x + attn(norm(x)), then + ffn(norm(.)).
  func layer(_ x: [Double], index l: Int, _ params: Params, _ batch: RefBatch) -> [Double] {
    let pre = "layers.\(l)", n = batch.n
    let a = rms(x, p(params, "\(pre).attn_norm.scale"), rows: n, d: c.dim)
    let x1 = Self.add(x, attention(a, prefix: "\(pre).attn", params, batch))
    let f = rms(x1, p(params, "\(pre).ffn_norm.scale"), rows: n, d: c.dim)
    return Self.add(x1, feedForward(f, prefix: "\(pre).ffn", params, rows: n))
  }

  /// logits [N, V] and the targets' log-probs [N].
  func forward(_ params: Params, _ batch: TokenBatch) -> (logits: [Double], logprobs: [Double]) {
    let rb = RefBatch(batch), n = rb.n, d = c.dim
    var x = Reference.embeddingForward(table: p(params, "embed.weight"), ids: rb.tokens, d: d)
    if c.learnedPositions {
      x = Self.add(x, Reference.embeddingForward(table: p(params, "positions.weight"), ids: rb.positions, d: d))
    }
    for l in 0..<c.layers { x = layer(x, index: l, params, rb) }
    let xf = rms(x, p(params, "final_norm.scale"), rows: n, d: d)
    let out = p(params, c.tied ? "embed.weight" : "lm_head.weight")
    let logits = Reference.matmul(xf, out, m: n, n: c.vocab, k: d, transposeA: false, transposeB: true)
    let lp = Reference.logSoftmaxGatherForward(logits: logits, targets: rb.targets, v: c.vocab).logprobs
    return (logits, lp)
  }

  /// sum_n w_n * logprob_n.
  func loss(_ params: Params, _ batch: TokenBatch, weights: [Double]) -> Double {
    zip(forward(params, batch).logprobs, weights).reduce(0) { $0 + $1.0 * $1.1 }
  }

  /// Every parameter name and shape the docs' table lists for this config.
  func parameterShapes() -> [String: [Int]] {
    let qw = c.heads * c.headDim, kvw = c.kvHeads * c.headDim
    var s: [String: [Int]] = ["embed.weight": [c.vocab, c.dim], "final_norm.scale": [c.dim]]
    if c.learnedPositions { s["positions.weight"] = [c.maxSeqLen, c.dim] }
    if !c.tied { s["lm_head.weight"] = [c.vocab, c.dim] }
    for l in 0..<c.layers {
      let pre = "layers.\(l)"
      s["\(pre).attn_norm.scale"] = [c.dim]
      s["\(pre).attn.wq"] = [c.dim, qw]
      s["\(pre).attn.wk"] = [c.dim, kvw]
      s["\(pre).attn.wv"] = [c.dim, kvw]
      if c.qkNorm {
        s["\(pre).attn.q_norm.scale"] = [c.headDim]
        s["\(pre).attn.k_norm.scale"] = [c.headDim]
      }
      s["\(pre).attn.wo"] = [qw, c.dim]
      s["\(pre).ffn_norm.scale"] = [c.dim]
      s["\(pre).ffn.w_gate"] = [c.dim, c.hidden]
      s["\(pre).ffn.w_up"] = [c.dim, c.hidden]
      s["\(pre).ffn.w_down"] = [c.hidden, c.dim]
    }
    return s
  }
}

/// Deterministic test randomness (SplitMix64, Box-Muller), independent of the model's RNG.
struct TestRNG {
  var state: UInt64
  init(_ seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform() -> Double { Double(next() >> 11) * 0x1p-53 }
  mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
  mutating func normal() -> Double {
    let u1 = max(uniform(), 1e-300), u2 = uniform()
    return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
  }
  mutating func normals(_ n: Int, std: Double, mean: Double = 0) -> [Double] { (0..<n).map { _ in mean + std * normal() } }
}
