import RlaxConfig
import RlaxPlugins

/// Root-mean-square layer norm (Zhang & Sennrich 2019), with a learned scale.
public struct RMSNormConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var eps: Float = 1e-5
  public init(eps: Float = 1e-5) { self.eps = eps }
  public func validate(path: String) throws {
    try require(eps > 0 && eps.isFinite, "\(path).eps", "must be a positive number, got \(eps)")
  }
}

/// An RMSNorm over the last axis of [rows, dim] activations, with its scale parameter `name`.
struct RMSNorm {
  let config: RMSNormConfig
  let name: String
  let dim: Int

  func declare(in params: ParameterStore) { params.declare(name, [dim]) }

  /// Ones: the identity scale.
  func initialValues() -> [Float] { [Float](repeating: 1, count: dim) }

  func forward(_ b: Backend, _ params: ParameterStore, x: Tensor) throws -> (out: Tensor, rstd: Tensor) {
    let rows = x.shape[0]
    let out = try b.tensor(.f32, [rows, dim]), rstd = try b.tensor(.f32, [rows])
    try b.rmsnormForward(x, weight: params.value(name), into: out, rstd: rstd, eps: config.eps)
    return (out, rstd)
  }

  /// Accumulates dx and the scale's gradient.
  func backward(_ b: Backend, _ params: ParameterStore, x: Tensor, rstd: Tensor, dout: Tensor, dx: Tensor) throws {
    try b.rmsnormBackward(x, weight: params.value(name), rstd: rstd, dout: dout, dx: dx, dweight: params.grad(name))
  }
}
