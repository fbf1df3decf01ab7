import RlaxConfig
import RlaxPlugins

/// The SwiGLU feed-forward block (Shazeer 2020) without biases:
/// out = (silu(x W_gate) * (x W_up)) W_down. The decoder layer injects the input width.
public struct FeedForwardConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var hiddenDim = 352
  public init() {}
  public func validate(path: String) throws {
    try require(hiddenDim >= 1, "\(path).hiddenDim", "must be >= 1, got \(hiddenDim)")
  }
}

struct FeedForward {
  let config: FeedForwardConfig
  let prefix: String
  let modelDim: Int

  var wGate: String { "\(prefix).w_gate" }
  var wUp: String { "\(prefix).w_up" }
  var wDown: String { "\(prefix).w_down" }

  func declare(in params: ParameterStore) {
    params.declare(wGate, [modelDim, config.hiddenDim])
    params.declare(wUp, [modelDim, config.hiddenDim])
    params.declare(wDown, [config.hiddenDim, modelDim])
  }

  struct Saved { var f: Tensor, gate: Tensor, up: Tensor, s: Tensor }

  /// residual [N, D] += ffn(f).
  func forward(_ b: Backend, _ params: ParameterStore, f: Tensor, residual: Tensor, saveForBackward: Bool) throws -> Saved? {
    let n = f.shape[0], hidden = config.hiddenDim
    let gate = try b.tensor(.f32, [n, hidden]), up = try b.tensor(.f32, [n, hidden]), s = try b.tensor(.f32, [n, hidden])
    try Linear.forward(b, x: f, w: params.value(wGate), into: gate)
    try Linear.forward(b, x: f, w: params.value(wUp), into: up)
    try b.swigluForward(gate: gate, up: up, into: s)
    try Linear.forward(b, x: s, w: params.value(wDown), into: residual, accumulate: true)
    return saveForBackward ? Saved(f: f, gate: gate, up: up, s: s) : nil
  }

  /// Accumulates df and the parameter gradients from dresidual.
  func backward(_ b: Backend, _ params: ParameterStore, saved s: Saved, dresidual: Tensor, df: Tensor) throws {
    let n = s.f.shape[0], hidden = config.hiddenDim
    let ds = try zeros(b, [n, hidden]), dgate = try zeros(b, [n, hidden]), dup = try zeros(b, [n, hidden])
    try Linear.backward(b, x: s.s, w: params.value(wDown), dy: dresidual, dx: ds, dw: params.grad(wDown))
    try b.swigluBackward(gate: s.gate, up: s.up, dout: ds, dgate: dgate, dup: dup)
    try Linear.backward(b, x: s.f, w: params.value(wGate), dy: dgate, dx: df, dw: params.grad(wGate))
    try Linear.backward(b, x: s.f, w: params.value(wUp), dy: dup, dx: df, dw: params.grad(wUp))
  }
}
