import RlaxPlugins

/// How a test tensor is laid out in device memory, to exercise the strides of descriptors.
enum Layout {
  case contiguous
  /// Rows (the last axis) padded with 3 extra elements holding a sentinel.
  case padded
  /// Stored with the last two axes swapped; the view's strides swap them back.
  case transposed
}

/// Uploads logical values in a chosen layout and reads views back, for op checks.
struct OpHarness {
  let backend: Backend
  static let sentinel: Float = 777

  func f32(_ values: [Double], _ shape: [Int], layout: Layout = .contiguous) throws -> Tensor {
    precondition(values.count == shape.reduce(1, *))
    var physical = shape
    var strides: [Int]
    switch layout {
    case .contiguous:
      strides = Tensor.contiguousStrides(shape)
    case .padded:
      physical[physical.count - 1] += 3
      strides = Tensor.contiguousStrides(physical)
    case .transposed:
      physical.swapAt(shape.count - 1, shape.count - 2)
      strides = Tensor.contiguousStrides(physical)
      strides.swapAt(shape.count - 1, shape.count - 2)
    }
    let total = max(physical.reduce(1, *), 1)
    var host = [Float](repeating: OpHarness.sentinel, count: total)
    forEachIndex(shape) { linear, multi in
      host[zip(multi, strides).reduce(0) { $0 + $1.0 * $1.1 }] = Float(values[linear])
    }
    let buffer = try backend.allocate(bytes: total * 4)
    try host.withUnsafeBytes { try buffer.write($0) }
    return Tensor(buffer: buffer, dtype: .f32, shape: shape, strides: strides)
  }

  func f32(_ values: [Float], _ shape: [Int], layout: Layout = .contiguous) throws -> Tensor {
    try f32(values.map(Double.init), shape, layout: layout)
  }

  func i32(_ values: [Int32], _ shape: [Int]) throws -> Tensor { try backend.uploadInt32(values, shape: shape) }

  /// A zero-filled contiguous f32 tensor.
  func zeros(_ shape: [Int]) throws -> Tensor {
    try f32([Double](repeating: 0, count: shape.reduce(1, *)), shape)
  }

  /// Reads the logical elements of a view; `padding` returns the other elements of its buffer.
  func read(_ t: Tensor) throws -> [Float] { try readWithPadding(t).values }

  func readWithPadding(_ t: Tensor) throws -> (values: [Float], padding: [Float]) {
    var host = [Float](repeating: 0, count: t.buffer.size / 4)
    try host.withUnsafeMutableBytes { try t.buffer.read(into: $0) }
    var values = [Float](repeating: 0, count: t.count)
    var touched = Set<Int>()
    forEachIndex(t.shape) { linear, multi in
      let at = t.offset / 4 + zip(multi, t.strides).reduce(0) { $0 + $1.0 * $1.1 }
      values[linear] = host[at]
      touched.insert(at)
    }
    let padding = host.indices.filter { !touched.contains($0) }.map { host[$0] }
    return (values, padding)
  }
}

/// Visits every index of `shape` in row-major order.
func forEachIndex(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
  let count = shape.reduce(1, *)
  guard count > 0 else { return }
  var multi = [Int](repeating: 0, count: shape.count)
  for linear in 0..<count {
    body(linear, multi)
    var axis = shape.count - 1
    while axis >= 0 {
      multi[axis] += 1
      if multi[axis] < shape[axis] { break }
      multi[axis] = 0
      axis -= 1
    }
  }
}
