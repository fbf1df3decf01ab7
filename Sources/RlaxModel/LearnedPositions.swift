import RlaxConfig
import RlaxPlugins

/// Learned absolute position embeddings (GPT-2's), added to the token embeddings. Added beside
/// RoPE to measure what a new position encoding costs outside its own file (docs/model.md).
public struct LearnedPositionsConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public init() {}
  public func validate(path: String) throws {}
}

struct LearnedPositions: PositionEncoding {
  let config: LearnedPositionsConfig
  let maxPositions: Int
  let modelDim: Int
  static let name = "positions.weight"

  func declare(in params: ParameterStore) { params.declare(Self.name, [maxPositions, modelDim]) }

  func initialValues(_ name: String, rng: inout ModelRNG, std: Float) -> [Float]? {
    name == Self.name ? rng.normal(count: maxPositions * modelDim, std: std) : nil
  }

  func addToEmbeddings(_ b: Backend, _ params: ParameterStore, x: Tensor, positions: Tensor) throws {
    let table = try b.tensor(.f32, x.shape)
    try b.embeddingForward(table: params.value(Self.name), ids: positions, into: table)
    try b.binary(.add, x, table, into: x)
  }

  func addToEmbeddingsBackward(_ b: Backend, _ params: ParameterStore, dx: Tensor, positions: Tensor) throws {
    try b.embeddingBackward(ids: positions, dout: dx, dtable: params.grad(Self.name))
  }

  func encodeQK(_ b: Backend, x: Tensor, positions: Tensor) throws -> Tensor { x }
  func encodeQKBackward(_ b: Backend, dout: Tensor, positions: Tensor, dx: Tensor) throws -> Bool { false }
}
