import Foundation
import RlaxConformance
@testable import RlaxModel
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// One small model configuration under test, with its reference twin.
struct Variant {
  var name: String
  var ref: RefConfig

  static func small(_ name: String, heads: Int = 4, kvHeads: Int = 2, edit: (inout RefConfig) -> Void = { _ in }) -> Variant {
    var r = RefConfig(vocab: 11, dim: 16, layers: 2, heads: heads, kvHeads: kvHeads, headDim: 4, hidden: 24, maxSeqLen: 16)
    edit(&r)
    return Variant(name: name, ref: r)
  }

  static let base = small("default (RoPE, QK-norm, tied, GQA 4/2)")
  static let noQKNorm = small("no QK-norm") { $0.qkNorm = false }
  static let learned = small("learned positions") { $0.learnedPositions = true }
  static let untied = small("untied embeddings") { $0.tied = false }
  static let mqa = small("MQA 4/1, no QK-norm, untied", kvHeads: 1) { $0.qkNorm = false; $0.tied = false }
  static let mha = small("MHA 2/2, learned positions, untied", heads: 2, kvHeads: 2) {
    $0.learnedPositions = true; $0.tied = false
  }

  /// Long enough to cross the cpu-blas attention's 128-query blocks.
  static let long = small("long (T 132), GQA 2/1, 1 layer, small widths", heads: 2, kvHeads: 1) {
    $0.maxSeqLen = 160; $0.layers = 1; $0.dim = 8; $0.hidden = 8; $0.vocab = 7
  }

  /// The model-side config, written from the reference's fields.
  var decoderConfig: DecoderConfig {
    var c = DecoderConfig()
    c.vocabSize = ref.vocab
    c.modelDim = ref.dim
    c.numLayers = ref.layers
    c.maxSeqLen = ref.maxSeqLen
    c.layer.attention.numHeads = ref.heads
    c.layer.attention.numKVHeads = ref.kvHeads
    c.layer.attention.headDim = ref.headDim
    c.layer.attention.useQKNorm = ref.qkNorm
    c.layer.feedForward.hiddenDim = ref.hidden
    c.positionEncoding = ref.learnedPositions ? .learned(LearnedPositionsConfig()) : .rope(RoPEConfig(theta: ref.theta))
    c.tiedEmbeddings = ref.tied
    return c
  }

  /// The reference at the model's exact fp32 eps.
  var reference: ReferenceModel {
    var r = ref
    r.eps = Double(RMSNormConfig().eps)
    return ReferenceModel(c: r)
  }
}

enum ModelTestSupport {
  static func backend() throws -> Backend { try Backend(library: TestSupport.bundled("cpu-blas")) }

  /// A model initialised with `seed`, then perturbed (std 0.3 matrices, norm scales 1 +- 0.3)
  /// so that every path contributes at a visible scale.
  static func makeModel(_ v: Variant, seed: UInt64 = 1, perturb: Bool = true) throws -> DecoderModel {
    let model = try DecoderModel(config: v.decoderConfig, backend: backend())
    try model.initialize(seed: seed)
    guard perturb else { return model }
    var rng = TestRNG(seed &+ 1000)
    for e in model.params.entries {
      let values: [Double]
      if e.name.hasSuffix(".scale") {
        values = rng.normals(e.count, std: 0.3, mean: 1)
      } else {
        values = rng.normals(e.count, std: 0.3)
      }
      try model.params.write(e.name, values.map { Float($0) })
    }
    return model
  }

  /// Every parameter of the model as float64 (exactly its fp32 values).
  static func readParams(_ model: DecoderModel) throws -> ReferenceModel.Params {
    var out: ReferenceModel.Params = [:]
    for e in model.params.entries { out[e.name] = try model.params.read(e.name).map(Double.init) }
    return out
  }

  /// A random batch; `padded`: row 1 is left-padded (kStart 3, pads at position 0, real tokens
  /// at 0, 1, ...) and row 0 sits at custom, uneven positions 1, 2, 3, 5, 8, 9, 12.
  static func batch(vocab: Int, b: Int = 2, t: Int = 7, padded: Bool = false, seed: UInt64 = 42) -> TokenBatch {
    var rng = TestRNG(seed)
    let n = b * t
    var tokens = (0..<n).map { _ in Int32(rng.int(vocab)) }
    let targets = (0..<n).map { _ in Int32(rng.int(vocab)) }
    guard padded else { return TokenBatch(batch: b, length: t, tokens: tokens, targets: targets) }
    precondition(b == 2 && t > 3 && t <= 10)
    let pad = 3
    var positions = [1, 2, 3, 5, 8, 9, 12, 13, 14, 15].prefix(t).map { Int32($0) }
    positions += (0..<t).map { Int32(max(0, $0 - pad)) }
    for i in 0..<pad { tokens[t + i] = 0 }
    return TokenBatch(batch: b, length: t, tokens: tokens, targets: targets, positions: positions, kStart: [0, Int32(pad)])
  }
}

extension ModelTestSupport {
  /// B 1, T 132, left-padded by 3 (kStart 3, pads at position 0).
  static func longBatch(vocab: Int, seed: UInt64 = 3) -> TokenBatch {
    var rng = TestRNG(seed)
    let t = 132, pad = 3
    let tokens = (0..<t).map { _ in Int32(rng.int(vocab)) }, targets = (0..<t).map { _ in Int32(rng.int(vocab)) }
    let positions = (0..<t).map { Int32(max(0, $0 - pad)) }
    return TokenBatch(batch: 1, length: t, tokens: tokens, targets: targets, positions: positions, kStart: [Int32(pad)])
  }
}

/// Relative error with an absolute floor: |a - r| / max(|r|, floor).
func relError(_ a: Double, _ r: Double, floor: Double) -> Double { abs(a - r) / max(abs(r), floor) }

func maxAbs(_ x: [Double]) -> Double { x.map(abs).max() ?? 0 }

/// Central finite differences of `f` at the listed coordinates of x.
func finiteDifferences(_ x: [Double], at coords: [Int], h: Double = 1e-5, _ f: ([Double]) -> Double) -> [Double] {
  coords.map { i in
    var up = x, down = x
    up[i] += h
    down[i] -= h
    return (f(up) - f(down)) / (2 * h)
  }
}
