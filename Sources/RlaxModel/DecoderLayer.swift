import RlaxConfig
import RlaxPlugins

/// One pre-norm transformer block: x + attn(norm(x)), then + ffn(norm(.)). Holds its
/// children's configs; the decoder injects the model width.
public struct DecoderLayerConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var norm = RMSNormConfig()
  public var attention = AttentionConfig()
  public var feedForward = FeedForwardConfig()
  public init() {}
  public func validate(path: String) throws {
    try norm.validate(path: "\(path).norm")
    try attention.validate(path: "\(path).attention")
    try feedForward.validate(path: "\(path).feedForward")
  }
}

struct DecoderLayer {
  let attentionNorm: RMSNorm
  let attention: Attention
  let ffnNorm: RMSNorm
  let feedForward: FeedForward

  init(config: DecoderLayerConfig, index: Int, modelDim: Int, position: PositionEncoding) {
    let prefix = "layers.\(index)"
    attentionNorm = RMSNorm(config: config.norm, name: "\(prefix).attn_norm.scale", dim: modelDim)
    attention = Attention(config: config.attention, prefix: "\(prefix).attn", modelDim: modelDim, position: position)
    ffnNorm = RMSNorm(config: config.norm, name: "\(prefix).ffn_norm.scale", dim: modelDim)
    feedForward = FeedForward(config: config.feedForward, prefix: "\(prefix).ffn", modelDim: modelDim)
  }

  var norms: [RMSNorm] {
    attention.config.useQKNorm ? [attentionNorm, ffnNorm, attention.qNorm, attention.kNorm] : [attentionNorm, ffnNorm]
  }

  func declare(in params: ParameterStore) {
    attentionNorm.declare(in: params)
    attention.declare(in: params)
    ffnNorm.declare(in: params)
    feedForward.declare(in: params)
  }

  struct Saved {
    var x: Tensor, aRstd: Tensor, attention: Attention.Saved
    var x1: Tensor, fRstd: Tensor, ffn: FeedForward.Saved
  }

  /// Returns the block's output [N, D] for input x [N, D].
  func forward(_ b: Backend, _ params: ParameterStore, x: Tensor, batch: Int, length: Int, mask: AttentionMask,
               saveForBackward: Bool) throws -> (out: Tensor, saved: Saved?) {
    let a = try attentionNorm.forward(b, params, x: x)
    let x1 = try b.tensor(.f32, x.shape)
    try b.unary(.copy, x, into: x1)
    let att = try attention.forward(b, params, a: a.out, batch: batch, length: length, mask: mask, residual: x1,
                                    saveForBackward: saveForBackward)
    let f = try ffnNorm.forward(b, params, x: x1)
    let x2 = try b.tensor(.f32, x.shape)
    try b.unary(.copy, x1, into: x2)
    let ffn = try feedForward.forward(b, params, f: f.out, residual: x2, saveForBackward: saveForBackward)
    guard saveForBackward, let att, let ffn else { return (x2, nil) }
    return (x2, Saved(x: x, aRstd: a.rstd, attention: att, x1: x1, fRstd: f.rstd, ffn: ffn))
  }

  /// Given dout = dLoss/d(output), returns dLoss/d(input) and accumulates parameter gradients.
  func backward(_ b: Backend, _ params: ParameterStore, saved s: Saved, mask: AttentionMask, dout: Tensor) throws -> Tensor {
    let shape = s.x.shape
    // Residual: d x1 = dout + (ffn path).
    let dx1 = try b.tensor(.f32, shape)
    try b.unary(.copy, dout, into: dx1)
    let df = try zeros(b, shape)
    try feedForward.backward(b, params, saved: s.ffn, dresidual: dout, df: df)
    try ffnNorm.backward(b, params, x: s.x1, rstd: s.fRstd, dout: df, dx: dx1)
    // Residual: d x = d x1 + (attention path).
    let dx = try b.tensor(.f32, shape)
    try b.unary(.copy, dx1, into: dx)
    let da = try zeros(b, shape)
    try attention.backward(b, params, saved: s.attention, mask: mask, dresidual: dx1, da: da)
    try attentionNorm.backward(b, params, x: s.x, rstd: s.aRstd, dout: da, dx: dx)
    return dx
  }
}
