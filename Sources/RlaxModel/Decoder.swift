import Foundation
import RlaxConfig
import RlaxPlugins

/// A decoder-only transformer with Apple's foundation-model choices as defaults: pre-norm
/// RMSNorm and a final norm, QK-norm, grouped-query attention, RoPE (theta 500000), SwiGLU
/// without biases, tied input/output embeddings. The decoder holds its children's configs
/// and injects the widths only it knows (modelDim into every layer, maxSeqLen into learned
/// positions); `vocabSize` comes from the tokenizer and is required.
public struct DecoderConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var vocabSize = 0
  public var modelDim = 128
  public var numLayers = 4
  public var maxSeqLen = 96
  public var layer = DecoderLayerConfig()
  public var finalNorm = RMSNormConfig()
  public var positionEncoding = PositionEncodingConfig.rope(RoPEConfig())
  public var tiedEmbeddings = true
  /// A scalar value head on the final hidden state (value_head.weight [D, 1]), for PPO.
  public var valueHead = false
  /// Standard deviation of the normal initialisation of matrices; the output projections of
  /// each block get initStd / sqrt(2 * numLayers) (GPT-2's residual scaling).
  public var initStd: Float = 0.02
  public init() {}

  public func validate(path: String) throws {
    if vocabSize <= 0 { throw ConfigError.required(path: "\(path).vocabSize", hint: "set it from the tokenizer") }
    try require(modelDim >= 1, "\(path).modelDim", "must be >= 1, got \(modelDim)")
    try require(numLayers >= 1, "\(path).numLayers", "must be >= 1, got \(numLayers)")
    try require(maxSeqLen >= 2, "\(path).maxSeqLen", "must be >= 2, got \(maxSeqLen)")
    try require(initStd > 0, "\(path).initStd", "must be > 0, got \(initStd)")
    try layer.validate(path: "\(path).layer")
    try finalNorm.validate(path: "\(path).finalNorm")
    try positionEncoding.validate(path: "\(path).positionEncoding")
  }

  /// FLOPs of one forward pass per token at context length `context` (2 per multiply-add):
  /// the matmuls, plus attention's two products over `context` keys.
  public func forwardFlopsPerToken(context: Int) -> Double {
    let d = Double(modelDim), a = layer.attention
    let q = Double(a.numHeads * a.headDim), kv = Double(a.numKVHeads * a.headDim), f = Double(layer.feedForward.hiddenDim)
    let perLayer = 2 * d * (q + 2 * kv) + 2 * q * d + 3 * 2 * d * f + 2 * 2 * Double(context) * q
    return Double(numLayers) * perLayer + 2 * d * Double(vocabSize)
  }
}

/// Token ids laid out [batch, length] with the next-token targets, for one forward pass.
public struct TokenBatch: Sendable {
  public var batch: Int
  public var length: Int
  /// [batch * length] input tokens.
  public var tokens: [Int32]
  /// [batch * length] the token each position predicts (any valid id where unused).
  public var targets: [Int32]
  /// [batch * length] position of each token; nil: 0 ..< length in every row.
  public var positions: [Int32]?
  /// [batch] first real token of each row when rows are left-padded; nil: 0.
  public var kStart: [Int32]?

  public init(batch: Int, length: Int, tokens: [Int32], targets: [Int32], positions: [Int32]? = nil, kStart: [Int32]? = nil) {
    self.batch = batch; self.length = length; self.tokens = tokens; self.targets = targets
    self.positions = positions; self.kStart = kStart
  }
}

/// The result of a forward pass: per-token log-probs of the targets, and what backward needs.
public final class ForwardPass {
  public let batch: TokenBatch
  /// [N] log-prob of each target; [N, V] logits; [N] log-sum-exp of each row.
  public let logprobs: Tensor
  public let logits: Tensor
  /// [N] value estimates, when the model has a value head.
  public let values: Tensor?
  let lse: Tensor
  let ids: Tensor, targets: Tensor
  let mask: AttentionMask
  let saved: [DecoderLayer.Saved]
  let finalInput: Tensor, finalOut: Tensor, finalRstd: Tensor

  init(batch: TokenBatch, logprobs: Tensor, logits: Tensor, values: Tensor?, lse: Tensor, ids: Tensor, targets: Tensor,
       mask: AttentionMask, saved: [DecoderLayer.Saved], finalInput: Tensor, finalOut: Tensor, finalRstd: Tensor) {
    self.batch = batch; self.logprobs = logprobs; self.logits = logits; self.values = values; self.lse = lse; self.ids = ids
    self.targets = targets; self.mask = mask; self.saved = saved
    self.finalInput = finalInput; self.finalOut = finalOut; self.finalRstd = finalRstd
  }
}

/// The model on a backend: parameters in a `ParameterStore`, forward and hand-written backward
/// as straight sequences of backend ops (llm.c's manner).
public final class DecoderModel {
  public let config: DecoderConfig
  public let backend: Backend
  public let params: ParameterStore
  let position: PositionEncoding
  let layers: [DecoderLayer]
  let finalNorm: RMSNorm

  static let embedding = "embed.weight"
  static let lmHead = "lm_head.weight"
  public static let valueHeadName = "value_head.weight"

  public init(config: DecoderConfig, backend: Backend) throws {
    try config.validate(path: "model")
    self.config = config
    self.backend = backend
    params = ParameterStore(backend: backend)
    let position = config.positionEncoding.make(maxSeqLen: config.maxSeqLen, modelDim: config.modelDim)
    self.position = position
    layers = (0..<config.numLayers).map {
      DecoderLayer(config: config.layer, index: $0, modelDim: config.modelDim, position: position)
    }
    finalNorm = RMSNorm(config: config.finalNorm, name: "final_norm.scale", dim: config.modelDim)
    params.declare(Self.embedding, [config.vocabSize, config.modelDim])
    position.declare(in: params)
    for layer in layers { layer.declare(in: params) }
    finalNorm.declare(in: params)
    if !config.tiedEmbeddings { params.declare(Self.lmHead, [config.vocabSize, config.modelDim]) }
    if config.valueHead { params.declare(Self.valueHeadName, [config.modelDim, 1]) }
    try params.allocate()
  }

  var outputEmbedding: String { config.tiedEmbeddings ? Self.embedding : Self.lmHead }

  /// Random initialisation, deterministic in `seed`.
  public func initialize(seed: UInt64) throws {
    var rng = ModelRNG(seed: seed)
    let norms = Set((layers.flatMap(\.norms) + [finalNorm]).map(\.name))
    let residualOutputs = Set(layers.flatMap { [$0.attention.wo, $0.feedForward.wDown] })
    let residualStd = config.initStd / Float(2 * config.numLayers).squareRoot()
    for e in params.entries {
      let values: [Float]
      if norms.contains(e.name) {
        values = [Float](repeating: 1, count: e.count)
      } else if let v = position.initialValues(e.name, rng: &rng, std: config.initStd) {
        values = v
      } else {
        values = rng.normal(count: e.count, std: residualOutputs.contains(e.name) ? residualStd : config.initStd)
      }
      try params.write(e.name, values)
    }
  }

  /// Parameters that get weight decay: matrices, not norm scales.
  public func decays(_ name: String) -> Bool { params.entry(name).shape.count >= 2 }

  func makeMask(_ batch: TokenBatch) throws -> AttentionMask {
    let b = backend
    let positions = try b.uploadInt32(batch.positions ?? (0..<batch.batch).flatMap { _ in (0..<batch.length).map(Int32.init) },
                                      shape: [batch.batch, batch.length])
    return AttentionMask(positions: positions, qPositions: nil, kStart: try batch.kStart.map { try b.uploadInt32($0, shape: [batch.batch]) })
  }

  func check(_ batch: TokenBatch) throws {
    let n = batch.batch * batch.length
    var problems: [String] = []
    if batch.tokens.count != n { problems.append("tokens has \(batch.tokens.count) ids, expected \(n)") }
    if batch.targets.count != n { problems.append("targets has \(batch.targets.count) ids, expected \(n)") }
    if let p = batch.positions, p.count != n { problems.append("positions has \(p.count) values, expected \(n)") }
    if let k = batch.kStart, k.count != batch.batch { problems.append("kStart has \(k.count) values, expected \(batch.batch)") }
    if batch.length > config.maxSeqLen { problems.append("length \(batch.length) exceeds maxSeqLen \(config.maxSeqLen)") }
    if let maxPosition = batch.positions?.max(), Int(maxPosition) >= config.maxSeqLen {
      problems.append("position \(maxPosition) exceeds maxSeqLen \(config.maxSeqLen)")
    }
    if let minPosition = batch.positions?.min(), minPosition < 0 { problems.append("position \(minPosition) is negative") }
    if let k = batch.kStart, let bad = k.first(where: { $0 < 0 || Int($0) >= batch.length }) {
      problems.append("kStart \(bad) is outside 0..<\(batch.length)")
    }
    if !problems.isEmpty {
      throw PluginError.invalidCall(plugin: backend.name, operation: "model forward", reason: problems.joined(separator: "; "))
    }
  }

  /// Embeds tokens [N] at positions: x [N, D].
  func embed(ids: Tensor, mask: AttentionMask, count: Int) throws -> Tensor {
    let x = try backend.tensor(.f32, [count, config.modelDim])
    try backend.embeddingForward(table: params.value(Self.embedding), ids: ids, into: x)
    try position.addToEmbeddings(backend, params, x: x, positions: mask.positions.reshaped([count]))
    return x
  }

  /// logits [N, V] of final-normed x [N, D] through the (tied) output embedding.
  func head(_ xf: Tensor) throws -> Tensor {
    let logits = try backend.tensor(.f32, [xf.shape[0], config.vocabSize])
    try backend.matmul(xf, params.value(outputEmbedding), into: logits, transposeB: true)
    return logits
  }

  public func forward(_ batch: TokenBatch, saveForBackward: Bool = true) throws -> ForwardPass {
    try check(batch)
    let b = backend, n = batch.batch * batch.length
    let ids = try b.uploadInt32(batch.tokens, shape: [n]), targets = try b.uploadInt32(batch.targets, shape: [n])
    let mask = try makeMask(batch)
    var x = try embed(ids: ids, mask: mask, count: n)
    var saved: [DecoderLayer.Saved] = []
    for layer in layers {
      let r = try layer.forward(b, params, x: x, batch: batch.batch, length: batch.length, mask: mask, saveForBackward: saveForBackward)
      if let s = r.saved { saved.append(s) }
      x = r.out
    }
    let f = try finalNorm.forward(b, params, x: x)
    let logits = try head(f.out)
    let logprobs = try b.tensor(.f32, [n]), lse = try b.tensor(.f32, [n])
    try b.logSoftmaxGatherForward(logits: logits, targets: targets, logprobs: logprobs, lse: lse)
    var values: Tensor?
    if config.valueHead {
      values = try b.tensor(.f32, [n, 1])
      try b.matmul(f.out, params.value(Self.valueHeadName), into: values!)
    }
    return ForwardPass(batch: batch, logprobs: logprobs, logits: logits, values: values, lse: lse, ids: ids, targets: targets, mask: mask,
                       saved: saved, finalInput: x, finalOut: f.out, finalRstd: f.rstd)
  }

  /// Accumulates into `params.grads` the gradient of a loss whose derivative with respect to
  /// each target log-prob is `dlogprobs` [N].
  public func backward(_ pass: ForwardPass, dlogprobs: [Float], dvalues: [Float]? = nil) throws {
    let b = backend, n = pass.batch.batch * pass.batch.length, d = config.modelDim
    precondition(pass.saved.count == layers.count, "backward needs a forward pass with saveForBackward")
    precondition(dlogprobs.count == n, "dlogprobs has \(dlogprobs.count) values, expected \(n)")
    let dlp = try b.upload(dlogprobs, shape: [n])
    let dlogits = try zeros(b, [n, config.vocabSize])
    try b.logSoftmaxGatherBackward(logits: pass.logits, targets: pass.targets, lse: pass.lse, dlogprobs: dlp, dlogits: dlogits)
    // logits = xf @ E^T: dxf = dlogits @ E, dE += dlogits^T @ xf
    let dxf = try b.tensor(.f32, [n, d])
    try b.matmul(dlogits, params.value(outputEmbedding), into: dxf)
    try b.matmul(dlogits, pass.finalOut, into: params.grad(outputEmbedding), transposeA: true, beta: 1)
    if let dvalues, config.valueHead {
      // values = xf @ w: dxf += dvalues w^T, dw += xf^T dvalues
      let dv = try b.upload(dvalues, shape: [n, 1])
      try Linear.backward(b, x: pass.finalOut, w: params.value(Self.valueHeadName), dy: dv, dx: dxf, dw: params.grad(Self.valueHeadName))
    }
    var dx = try zeros(b, [n, d])
    try finalNorm.backward(b, params, x: pass.finalInput, rstd: pass.finalRstd, dout: dxf, dx: dx)
    for (layer, saved) in zip(layers, pass.saved).reversed() {
      dx = try layer.backward(b, params, saved: saved, mask: pass.mask, dout: dx)
    }
    try position.addToEmbeddingsBackward(b, params, dx: dx, positions: pass.mask.positions.reshaped([n]))
    try b.embeddingBackward(ids: pass.ids, dout: dx, dtable: params.grad(Self.embedding))
  }

  /// Value estimates [N], on the host (empty without a value head).
  public func values(_ pass: ForwardPass) throws -> [Float] { try pass.values.map { try backend.download($0) } ?? [] }

  /// Log-probs of the targets, on the host.
  public func logprobs(_ pass: ForwardPass) throws -> [Float] { try backend.download(pass.logprobs) }
}
