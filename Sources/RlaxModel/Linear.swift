import RlaxPlugins

/// y = x @ W for x [N, in] and W [in, out] (row-major, "in" first, as checkpoints store it),
/// and its backward: dx += dy @ W^T, dW += x^T @ dy.
enum Linear {
  static func forward(_ b: Backend, x: Tensor, w: Tensor, into y: Tensor, accumulate: Bool = false) throws {
    try b.matmul(x, w, into: y, beta: accumulate ? 1 : 0)
  }

  static func backward(_ b: Backend, x: Tensor, w: Tensor, dy: Tensor, dx: Tensor?, dw: Tensor) throws {
    if let dx { try b.matmul(dy, w, into: dx, transposeB: true, beta: 1) }
    try b.matmul(x, dy, into: dw, transposeA: true, beta: 1)
  }
}
