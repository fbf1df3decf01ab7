import Foundation
import RlaxConfig
import RlaxPlugins

/// Causal self-attention with grouped-query heads (Ainslie et al. 2023), QK-norm (RMSNorm of
/// each query and key head, as in Apple's foundation models) and the decoder's position
/// encoding applied to queries and keys. The decoder layer injects the input width.
public struct AttentionConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var numHeads = 4
  public var numKVHeads = 2
  public var headDim = 32
  public var useQKNorm = true
  public var qkNorm = RMSNormConfig()
  public init() {}

  public func validate(path: String) throws {
    try require(numHeads >= 1, "\(path).numHeads", "must be >= 1, got \(numHeads)")
    try require(numKVHeads >= 1 && numHeads % numKVHeads == 0, "\(path).numKVHeads",
                "must divide numHeads = \(numHeads), got \(numKVHeads)")
    try require(headDim >= 2 && headDim % 2 == 0, "\(path).headDim", "must be even and >= 2 (RoPE rotates pairs), got \(headDim)")
    try qkNorm.validate(path: "\(path).qkNorm")
  }
}

/// Key and value caches of one layer for incremental decoding: [B, capacity, Hkv, Dh] each,
/// holding keys after QK-norm and position encoding.
struct KVCache {
  let k: Tensor
  let v: Tensor
}

/// Where keys and values go and which keys a query sees, for one attention call.
struct AttentionMask {
  /// I32 [B, T] position of each token (for the position encoding).
  var positions: Tensor
  /// I32 [B, T] index of each query among the keys; nil: the queries are the last T keys.
  var qPositions: Tensor?
  /// I32 [B] first valid key per row (left padding); nil: 0.
  var kStart: Tensor?
  /// Incremental decoding: write this call's keys at [start, start + T) of the cache and
  /// attend to [0, start + T).
  var cache: (cache: KVCache, start: Int)?
}

struct Attention {
  let config: AttentionConfig
  let prefix: String
  let modelDim: Int
  let position: PositionEncoding

  var wq: String { "\(prefix).wq" }
  var wk: String { "\(prefix).wk" }
  var wv: String { "\(prefix).wv" }
  var wo: String { "\(prefix).wo" }
  var qNorm: RMSNorm { RMSNorm(config: config.qkNorm, name: "\(prefix).q_norm.scale", dim: config.headDim) }
  var kNorm: RMSNorm { RMSNorm(config: config.qkNorm, name: "\(prefix).k_norm.scale", dim: config.headDim) }
  var qWidth: Int { config.numHeads * config.headDim }
  var kvWidth: Int { config.numKVHeads * config.headDim }
  var scale: Float { 1 / Float(config.headDim).squareRoot() }

  func declare(in params: ParameterStore) {
    params.declare(wq, [modelDim, qWidth])
    params.declare(wk, [modelDim, kvWidth])
    params.declare(wv, [modelDim, kvWidth])
    if config.useQKNorm {
      qNorm.declare(in: params)
      kNorm.declare(in: params)
    }
    params.declare(wo, [qWidth, modelDim])
  }

  /// What backward needs.
  struct Saved {
    var a: Tensor, q: Tensor, k: Tensor, v: Tensor
    var qRstd: Tensor?, kRstd: Tensor?, qn: Tensor, kn: Tensor
    var qr: Tensor, kr: Tensor, o: Tensor, lse: Tensor
    var batch: Int, length: Int
  }

  /// residual [N, D] += attention(a) @ wo, for a [N = B*T, D].
  func forward(_ b: Backend, _ params: ParameterStore, a: Tensor, batch: Int, length: Int,
               mask: AttentionMask, residual: Tensor, saveForBackward: Bool) throws -> Saved? {
    let n = batch * length, h = config.numHeads, hkv = config.numKVHeads, d = config.headDim
    let q = try b.tensor(.f32, [n, qWidth]), k = try b.tensor(.f32, [n, kvWidth]), v = try b.tensor(.f32, [n, kvWidth])
    try Linear.forward(b, x: a, w: params.value(wq), into: q)
    try Linear.forward(b, x: a, w: params.value(wk), into: k)
    try Linear.forward(b, x: a, w: params.value(wv), into: v)
    var qn = q, kn = k
    var qRstd: Tensor?, kRstd: Tensor?
    if config.useQKNorm {
      let qo = try qNorm.forward(b, params, x: q.reshaped([n * h, d]))
      let ko = try kNorm.forward(b, params, x: k.reshaped([n * hkv, d]))
      (qn, qRstd, kn, kRstd) = (qo.out.reshaped([n, qWidth]), qo.rstd, ko.out.reshaped([n, kvWidth]), ko.rstd)
    }
    let qr = try position.encodeQK(b, x: qn.reshaped([batch, length, h, d]), positions: mask.positions)
    let kr = try position.encodeQK(b, x: kn.reshaped([batch, length, hkv, d]), positions: mask.positions)
    let v4 = v.reshaped([batch, length, hkv, d])
    var keys = kr, values = v4
    if let (cache, start) = mask.cache {
      try b.unary(.copy, kr, into: cache.k.slice(axis: 1, start: start, length: length))
      try b.unary(.copy, v4, into: cache.v.slice(axis: 1, start: start, length: length))
      keys = cache.k.slice(axis: 1, start: 0, length: start + length)
      values = cache.v.slice(axis: 1, start: 0, length: start + length)
    }
    let o = try b.tensor(.f32, [batch, length, h, d])
    let lse = try b.tensor(.f32, [batch, h, length])
    try b.attentionForward(q: qr, k: keys, v: values, into: o, lse: saveForBackward ? lse : nil,
                           qPositions: mask.qPositions, kStart: mask.kStart, scale: scale)
    try Linear.forward(b, x: o.reshaped([n, qWidth]), w: params.value(wo), into: residual, accumulate: true)
    guard saveForBackward else { return nil }
    return Saved(a: a, q: q, k: k, v: v, qRstd: qRstd, kRstd: kRstd, qn: qn, kn: kn, qr: qr, kr: kr, o: o, lse: lse,
                 batch: batch, length: length)
  }

  /// Given dresidual (the gradient of the layer's residual stream), accumulates da and the
  /// parameter gradients. Training only (no cache).
  func backward(_ b: Backend, _ params: ParameterStore, saved s: Saved, mask: AttentionMask, dresidual: Tensor, da: Tensor) throws {
    let n = s.batch * s.length, h = config.numHeads, hkv = config.numKVHeads, d = config.headDim
    let do_ = try zeros(b, [n, qWidth])
    try Linear.backward(b, x: s.o.reshaped([n, qWidth]), w: params.value(wo), dy: dresidual, dx: do_, dw: params.grad(wo))
    let dqr = try zeros(b, [s.batch, s.length, h, d]), dkr = try zeros(b, [s.batch, s.length, hkv, d])
    let dv = try zeros(b, [s.batch, s.length, hkv, d])
    try b.attentionBackward(q: s.qr, k: s.kr, v: s.v.reshaped([s.batch, s.length, hkv, d]), out: s.o, lse: s.lse,
                            dout: do_.reshaped([s.batch, s.length, h, d]), qPositions: mask.qPositions, kStart: mask.kStart,
                            dq: dqr, dk: dkr, dv: dv, scale: scale)
    var dqn = dqr.reshaped([n, qWidth]), dkn = dkr.reshaped([n, kvWidth])
    let dqnAcc = try zeros(b, [s.batch, s.length, h, d]), dknAcc = try zeros(b, [s.batch, s.length, hkv, d])
    if try position.encodeQKBackward(b, dout: dqr, positions: mask.positions, dx: dqnAcc) { dqn = dqnAcc.reshaped([n, qWidth]) }
    if try position.encodeQKBackward(b, dout: dkr, positions: mask.positions, dx: dknAcc) { dkn = dknAcc.reshaped([n, kvWidth]) }
    var dq = dqn, dk = dkn
    if config.useQKNorm, let qRstd = s.qRstd, let kRstd = s.kRstd {
      dq = try zeros(b, [n, qWidth])
      dk = try zeros(b, [n, kvWidth])
      try qNorm.backward(b, params, x: s.q.reshaped([n * h, d]), rstd: qRstd, dout: dqn.reshaped([n * h, d]), dx: dq.reshaped([n * h, d]))
      try kNorm.backward(b, params, x: s.k.reshaped([n * hkv, d]), rstd: kRstd, dout: dkn.reshaped([n * hkv, d]), dx: dk.reshaped([n * hkv, d]))
    }
    try Linear.backward(b, x: s.a, w: params.value(wq), dy: dq, dx: da, dw: params.grad(wq))
    try Linear.backward(b, x: s.a, w: params.value(wk), dy: dk, dx: da, dw: params.grad(wk))
    try Linear.backward(b, x: s.a, w: params.value(wv), dy: dv.reshaped([n, kvWidth]), dx: da, dw: params.grad(wv))
  }
}

/// A new tensor of zeros (gradients accumulate into it).
func zeros(_ b: Backend, _ shape: [Int]) throws -> Tensor {
  let t = try b.tensor(.f32, shape)
  try b.fill(t, 0)
  return t
}
