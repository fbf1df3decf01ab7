import RlaxConfig
import RlaxPlugins

/// Which position encoding the decoder uses: one slot, swapped by one edit
/// (`--set model.positionEncoding.type=LearnedPositions`). Encoded with a `type` field.
public enum PositionEncodingConfig: Codable, Equatable, Sendable, ValidatableConfig {
  case rope(RoPEConfig)
  case learned(LearnedPositionsConfig)

  enum TypeKey: String, CodingKey { case type }

  public init(from decoder: Decoder) throws {
    let type = try decoder.container(keyedBy: TypeKey.self).decodeIfPresent(String.self, forKey: .type) ?? "RoPE"
    switch type {
    case "RoPE": self = .rope(try RoPEConfig(from: decoder))
    case "LearnedPositions": self = .learned(try LearnedPositionsConfig(from: decoder))
    default:
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                              debugDescription: "unknown position encoding type '\(type)'; known: RoPE, LearnedPositions"))
    }
  }

  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: TypeKey.self)
    switch self {
    case .rope(let r): try c.encode("RoPE", forKey: .type); try r.encode(to: encoder)
    case .learned(let l): try c.encode("LearnedPositions", forKey: .type); try l.encode(to: encoder)
    }
  }

  public func validate(path: String) throws {
    switch self {
    case .rope(let r): try r.validate(path: path)
    case .learned(let l): try l.validate(path: path)
    }
  }

  func make(maxSeqLen: Int, modelDim: Int) -> PositionEncoding {
    switch self {
    case .rope(let r): RoPE(config: r)
    case .learned(let l): LearnedPositions(config: l, maxPositions: maxSeqLen, modelDim: modelDim)
    }
  }
}

/// A position encoding acts in one or both of two places: added to the token embeddings, or
/// applied to queries and keys inside attention. Each implementation does nothing in the other.
protocol PositionEncoding {
  func declare(in params: ParameterStore)
  func initialValues(_ name: String, rng: inout ModelRNG, std: Float) -> [Float]?
  /// x [N, D] += encoding of positions [N].
  func addToEmbeddings(_ b: Backend, _ params: ParameterStore, x: Tensor, positions: Tensor) throws
  func addToEmbeddingsBackward(_ b: Backend, _ params: ParameterStore, dx: Tensor, positions: Tensor) throws
  /// out = encoded x for x [B, T, H, Dh] and positions [B, T]; returns x itself when it does nothing.
  func encodeQK(_ b: Backend, x: Tensor, positions: Tensor) throws -> Tensor
  /// dx += encoding^T dout; returns false when encodeQK passed x through (dx is dout).
  func encodeQKBackward(_ b: Backend, dout: Tensor, positions: Tensor, dx: Tensor) throws -> Bool
}

/// Rotary position embedding (Su et al. 2021), rotate-half form, applied to q and k.
public struct RoPEConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var theta: Double = 500_000
  public init(theta: Double = 500_000) { self.theta = theta }
  public func validate(path: String) throws {
    try require(theta > 1, "\(path).theta", "must be > 1, got \(theta)")
  }
}

struct RoPE: PositionEncoding {
  let config: RoPEConfig
  func declare(in params: ParameterStore) {}
  func initialValues(_ name: String, rng: inout ModelRNG, std: Float) -> [Float]? { nil }
  func addToEmbeddings(_ b: Backend, _ params: ParameterStore, x: Tensor, positions: Tensor) throws {}
  func addToEmbeddingsBackward(_ b: Backend, _ params: ParameterStore, dx: Tensor, positions: Tensor) throws {}

  func encodeQK(_ b: Backend, x: Tensor, positions: Tensor) throws -> Tensor {
    let out = try b.tensor(.f32, x.shape)
    try b.ropeForward(x, positions: positions, into: out, theta: Float(config.theta))
    return out
  }

  func encodeQKBackward(_ b: Backend, dout: Tensor, positions: Tensor, dx: Tensor) throws -> Bool {
    try b.ropeBackward(dout: dout, positions: positions, dx: dx, theta: Float(config.theta))
    return true
  }
}
