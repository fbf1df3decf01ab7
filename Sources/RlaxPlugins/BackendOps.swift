import CRlax

/// The ops of the backend table, by their ABI names.
public enum BackendOp: String, CaseIterable, Sendable {
  case matmul, unary, binary, fill, reduce, softmax
  case rmsnormForward = "rmsnorm_forward", rmsnormBackward = "rmsnorm_backward"
  case ropeForward = "rope_forward", ropeBackward = "rope_backward"
  case swigluForward = "swiglu_forward", swigluBackward = "swiglu_backward"
  case attentionForward = "attention_forward", attentionBackward = "attention_backward"
  case embeddingForward = "embedding_forward", embeddingBackward = "embedding_backward"
  case logSoftmaxGatherForward = "logsoftmax_gather_forward", logSoftmaxGatherBackward = "logsoftmax_gather_backward"
  case adamw

  func isSupported(by api: rlax_backend_api) -> Bool {
    let keyPath: PartialKeyPath<rlax_backend_api> = switch self {
    case .matmul: \.matmul
    case .unary: \.unary
    case .binary: \.binary
    case .fill: \.fill
    case .reduce: \.reduce
    case .softmax: \.softmax
    case .rmsnormForward: \.rmsnorm_forward
    case .rmsnormBackward: \.rmsnorm_backward
    case .ropeForward: \.rope_forward
    case .ropeBackward: \.rope_backward
    case .swigluForward: \.swiglu_forward
    case .swigluBackward: \.swiglu_backward
    case .attentionForward: \.attention_forward
    case .attentionBackward: \.attention_backward
    case .embeddingForward: \.embedding_forward
    case .embeddingBackward: \.embedding_backward
    case .logSoftmaxGatherForward: \.logsoftmax_gather_forward
    case .logSoftmaxGatherBackward: \.logsoftmax_gather_backward
    case .adamw: \.adamw
    }
    return withUnsafeBytes(of: api) { $0.load(fromByteOffset: MemoryLayout<rlax_backend_api>.offset(of: keyPath)!, as: UnsafeRawPointer?.self) } != nil
  }
}

public enum UnaryOp: UInt32, CaseIterable, Sendable {
  case copy = 0, affine, neg, exp, log, sqrt, rsqrt, square, abs, tanh, silu, reciprocal
}

public enum BinaryOp: UInt32, CaseIterable, Sendable {
  case add = 0, sub, mul, div, max, min
}

public enum ReduceOp: UInt32, CaseIterable, Sendable {
  case sum = 0, mean, max, sumSquares
}

/// Ops, one Swift method per ABI function; semantics are those written in rlax/backend.h.
extension Backend {
  public func matmul(_ a: Tensor, _ b: Tensor, into c: Tensor, transposeA: Bool = false,
                     transposeB: Bool = false, alpha: Float = 1, beta: Float = 0) throws {
    var args = rlax_matmul_args(struct_size: MemoryLayout<rlax_matmul_args>.size, a: slot(0, a), b: slot(1, b),
                                c: slot(2, c), transpose_a: transposeA, transpose_b: transposeB, alpha: alpha, beta: beta)
    try opCall("matmul", api.matmul) { $0(handle, &args) }
  }

  public func unary(_ op: UnaryOp, _ x: Tensor, into out: Tensor, alpha: Float = 1, beta: Float = 0) throws {
    var args = rlax_unary_args(struct_size: MemoryLayout<rlax_unary_args>.size, op: rlax_unary_op(rawValue: op.rawValue),
                               x: slot(0, x), out: slot(1, out), alpha: alpha, beta: beta)
    try opCall("unary", api.unary) { $0(handle, &args) }
  }

  public func binary(_ op: BinaryOp, _ a: Tensor, _ b: Tensor, into out: Tensor) throws {
    var args = rlax_binary_args(struct_size: MemoryLayout<rlax_binary_args>.size, op: rlax_binary_op(rawValue: op.rawValue),
                                a: slot(0, a), b: slot(1, b), out: slot(2, out))
    try opCall("binary", api.binary) { $0(handle, &args) }
  }

  public func fill(_ out: Tensor, _ value: Float) throws {
    var args = rlax_fill_args(struct_size: MemoryLayout<rlax_fill_args>.size, out: slot(0, out), value: value)
    try opCall("fill", api.fill) { $0(handle, &args) }
  }

  public func reduce(_ op: ReduceOp, _ x: Tensor, into out: Tensor, axis: Int) throws {
    var args = rlax_reduce_args(struct_size: MemoryLayout<rlax_reduce_args>.size, op: rlax_reduce_op(rawValue: op.rawValue),
                                x: slot(0, x), out: slot(1, out), axis: Int32(axis))
    try opCall("reduce", api.reduce) { $0(handle, &args) }
  }

  public func softmax(_ x: Tensor, into out: Tensor) throws {
    var args = rlax_softmax_args(struct_size: MemoryLayout<rlax_softmax_args>.size, x: slot(0, x), out: slot(1, out))
    try opCall("softmax", api.softmax) { $0(handle, &args) }
  }

  public func rmsnormForward(_ x: Tensor, weight: Tensor, into out: Tensor, rstd: Tensor, eps: Float) throws {
    var args = rlax_rmsnorm_forward_args(struct_size: MemoryLayout<rlax_rmsnorm_forward_args>.size, x: slot(0, x),
                                         weight: slot(1, weight), out: slot(2, out), rstd: slot(3, rstd), eps: eps)
    try opCall("rmsnorm_forward", api.rmsnorm_forward) { $0(handle, &args) }
  }

  public func rmsnormBackward(_ x: Tensor, weight: Tensor, rstd: Tensor, dout: Tensor, dx: Tensor, dweight: Tensor?) throws {
    var args = rlax_rmsnorm_backward_args(struct_size: MemoryLayout<rlax_rmsnorm_backward_args>.size, x: slot(0, x),
                                          weight: slot(1, weight), rstd: slot(2, rstd), dout: slot(3, dout),
                                          dx: slot(4, dx), dweight: slot(5, dweight))
    try opCall("rmsnorm_backward", api.rmsnorm_backward) { $0(handle, &args) }
  }

  public func ropeForward(_ x: Tensor, positions: Tensor, into out: Tensor, theta: Float) throws {
    var args = rlax_rope_forward_args(struct_size: MemoryLayout<rlax_rope_forward_args>.size, x: slot(0, x),
                                      positions: slot(1, positions), out: slot(2, out), theta: theta)
    try opCall("rope_forward", api.rope_forward) { $0(handle, &args) }
  }

  public func ropeBackward(dout: Tensor, positions: Tensor, dx: Tensor, theta: Float) throws {
    var args = rlax_rope_backward_args(struct_size: MemoryLayout<rlax_rope_backward_args>.size, dout: slot(0, dout),
                                       positions: slot(1, positions), dx: slot(2, dx), theta: theta)
    try opCall("rope_backward", api.rope_backward) { $0(handle, &args) }
  }

  public func swigluForward(gate: Tensor, up: Tensor, into out: Tensor) throws {
    var args = rlax_swiglu_forward_args(struct_size: MemoryLayout<rlax_swiglu_forward_args>.size, gate: slot(0, gate),
                                        up: slot(1, up), out: slot(2, out))
    try opCall("swiglu_forward", api.swiglu_forward) { $0(handle, &args) }
  }

  public func swigluBackward(gate: Tensor, up: Tensor, dout: Tensor, dgate: Tensor, dup: Tensor) throws {
    var args = rlax_swiglu_backward_args(struct_size: MemoryLayout<rlax_swiglu_backward_args>.size, gate: slot(0, gate),
                                         up: slot(1, up), dout: slot(2, dout), dgate: slot(3, dgate), dup: slot(4, dup))
    try opCall("swiglu_backward", api.swiglu_backward) { $0(handle, &args) }
  }

  public func attentionForward(q: Tensor, k: Tensor, v: Tensor, into out: Tensor, lse: Tensor?,
                               qPositions: Tensor? = nil, kStart: Tensor? = nil, scale: Float) throws {
    var args = rlax_attention_forward_args(struct_size: MemoryLayout<rlax_attention_forward_args>.size, q: slot(0, q),
                                           k: slot(1, k), v: slot(2, v), out: slot(3, out), lse: slot(4, lse),
                                           q_positions: slot(5, qPositions), k_start: slot(6, kStart), scale: scale)
    try opCall("attention_forward", api.attention_forward) { $0(handle, &args) }
  }

  public func attentionBackward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, dout: Tensor,
                                qPositions: Tensor? = nil, kStart: Tensor? = nil,
                                dq: Tensor, dk: Tensor, dv: Tensor, scale: Float) throws {
    var args = rlax_attention_backward_args(struct_size: MemoryLayout<rlax_attention_backward_args>.size, q: slot(0, q),
                                            k: slot(1, k), v: slot(2, v), out: slot(3, out), lse: slot(4, lse),
                                            dout: slot(5, dout), q_positions: slot(6, qPositions), k_start: slot(7, kStart),
                                            dq: slot(8, dq), dk: slot(9, dk), dv: slot(10, dv), scale: scale)
    try opCall("attention_backward", api.attention_backward) { $0(handle, &args) }
  }

  public func embeddingForward(table: Tensor, ids: Tensor, into out: Tensor) throws {
    var args = rlax_embedding_forward_args(struct_size: MemoryLayout<rlax_embedding_forward_args>.size,
                                           table: slot(0, table), ids: slot(1, ids), out: slot(2, out))
    try opCall("embedding_forward", api.embedding_forward) { $0(handle, &args) }
  }

  public func embeddingBackward(ids: Tensor, dout: Tensor, dtable: Tensor) throws {
    var args = rlax_embedding_backward_args(struct_size: MemoryLayout<rlax_embedding_backward_args>.size,
                                            ids: slot(0, ids), dout: slot(1, dout), dtable: slot(2, dtable))
    try opCall("embedding_backward", api.embedding_backward) { $0(handle, &args) }
  }

  public func logSoftmaxGatherForward(logits: Tensor, targets: Tensor, logprobs: Tensor, lse: Tensor?) throws {
    var args = rlax_logsoftmax_gather_forward_args(struct_size: MemoryLayout<rlax_logsoftmax_gather_forward_args>.size,
                                                   logits: slot(0, logits), targets: slot(1, targets),
                                                   logprobs: slot(2, logprobs), lse: slot(3, lse))
    try opCall("logsoftmax_gather_forward", api.logsoftmax_gather_forward) { $0(handle, &args) }
  }

  public func logSoftmaxGatherBackward(logits: Tensor, targets: Tensor, lse: Tensor, dlogprobs: Tensor, dlogits: Tensor) throws {
    var args = rlax_logsoftmax_gather_backward_args(struct_size: MemoryLayout<rlax_logsoftmax_gather_backward_args>.size,
                                                    logits: slot(0, logits), targets: slot(1, targets), lse: slot(2, lse),
                                                    dlogprobs: slot(3, dlogprobs), dlogits: slot(4, dlogits))
    try opCall("logsoftmax_gather_backward", api.logsoftmax_gather_backward) { $0(handle, &args) }
  }

  /// Whether the backend has data-parallel replicas to all-reduce across (tpu-sim's slice).
  public var supportsAllReduce: Bool { api.all_reduce != nil }

  /// Sums `tensor` across the device's data-parallel replicas (see rlax_all_reduce_args).
  public func allReduce(_ tensor: Tensor) throws {
    var args = rlax_all_reduce_args(struct_size: MemoryLayout<rlax_all_reduce_args>.size, tensor: slot(0, tensor))
    try opCall("all_reduce", api.all_reduce) { $0(handle, &args) }
  }

  /// AdamW hyperparameters for one update.
  public struct AdamWStep: Sendable {
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float, gradScale: Float, step: Int
    public init(lr: Float, beta1: Float = 0.9, beta2: Float = 0.95, eps: Float = 1e-8, weightDecay: Float = 0.1,
                gradScale: Float = 1, step: Int) {
      self.lr = lr; self.beta1 = beta1; self.beta2 = beta2; self.eps = eps
      self.weightDecay = weightDecay; self.gradScale = gradScale; self.step = step
    }
  }

  public func adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, _ h: AdamWStep) throws {
    var args = rlax_adamw_args(struct_size: MemoryLayout<rlax_adamw_args>.size, param: slot(0, param), grad: slot(1, grad),
                               m: slot(2, m), v: slot(3, v), lr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps,
                               weight_decay: h.weightDecay, grad_scale: h.gradScale, step: Int64(h.step))
    try opCall("adamw", api.adamw) { $0(handle, &args) }
  }
}
