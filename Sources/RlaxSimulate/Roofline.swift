import Foundation

/// Time of one op or a sum of ops under tpu-sim's roofline clock:
/// `t_op = max(t_MXU, t_VPU, t_HBM)`, units overlapping within an op, none between ops.
public struct OpCost: Codable, Equatable, Sendable {
  /// Σ max(t_MXU, t_VPU): the compute side of each op.
  public var computeSeconds = 0.0
  /// Σ t_HBM: the memory side of each op.
  public var memorySeconds = 0.0
  /// Σ max(compute, memory): the time the ops take.
  public var seconds = 0.0
  /// MXU FLOPs charged, with padding to the MXU tile.
  public var mxuFlops = 0.0

  public init() {}

  public init(computeSeconds: Double, memorySeconds: Double, mxuFlops: Double) {
    self.computeSeconds = computeSeconds
    self.memorySeconds = memorySeconds
    self.seconds = max(computeSeconds, memorySeconds)
    self.mxuFlops = mxuFlops
  }

  public static func + (a: OpCost, b: OpCost) -> OpCost {
    var r = a
    r.computeSeconds += b.computeSeconds
    r.memorySeconds += b.memorySeconds
    r.seconds += b.seconds
    r.mxuFlops += b.mxuFlops
    return r
  }

  public static func * (k: Double, a: OpCost) -> OpCost {
    var r = a
    r.computeSeconds *= k; r.memorySeconds *= k; r.seconds *= k; r.mxuFlops *= k
    return r
  }

  /// Bound by the memory side when it is at least the compute side.
  public var isMemoryBound: Bool { memorySeconds >= computeSeconds }
}

/// The per-op costs of tpu-sim's clock on one chip, with the config's constants.
public struct Roofline: Sendable {
  public var config: SimulationConfig
  public init(_ config: SimulationConfig) { self.config = config }

  var peak: Double { config.peakFlopsPerSecondBf16 * config.mxuEfficiency }

  /// n rounded up to a multiple of the MXU tile (128).
  public func pad(_ n: Int) -> Int {
    let t = config.mxuTile
    return (n + t - 1) / t * t
  }

  /// A [m, k] x [k, n] matmul, bf16 operands, fp32 result (tpu-sim's matmul row):
  /// MXU FLOPs 2·pad(m)·pad(k)·pad(n); bytes 2·m·k + 2·k·n + 4·m·n.
  public func matmul(m: Int, k: Int, n: Int) -> OpCost {
    let flops = 2 * Double(pad(m)) * Double(pad(k)) * Double(pad(n))
    let bytes = 2 * Double(m) * Double(k) + 2 * Double(k) * Double(n) + 4 * Double(m) * Double(n)
    return OpCost(computeSeconds: flops / peak, memorySeconds: bytes / config.hbmBytesPerSecond, mxuFlops: flops)
  }

  /// Backward of a [m, k] x [k, n] matmul: dX = dY·Wᵀ ([m, n] x [n, k]) and dW = Xᵀ·dY
  /// ([k, m] x [m, n]).
  public func matmulBackward(m: Int, k: Int, n: Int) -> OpCost {
    matmul(m: m, k: n, n: k) + matmul(m: k, k: m, n: n)
  }

  /// Any op from its MXU FLOPs, VPU FLOPs and HBM bytes.
  public func op(mxuFlops: Double, vpuFlops: Double, bytes: Double) -> OpCost {
    OpCost(computeSeconds: max(mxuFlops / peak, vpuFlops / config.vpuFlopsPerSecond),
           memorySeconds: bytes / config.hbmBytesPerSecond, mxuFlops: mxuFlops)
  }
}
