import RlaxPlugins

/// Every trainable tensor of a model in one device allocation (llm.c's manner), with gradients,
/// and AdamW moments in three more allocations of the same layout. Each parameter is a named
/// view; whole-model operations (zeroing gradients, the global gradient norm) run once over
/// the flat buffer.
public final class ParameterStore {
  public struct Entry: Sendable {
    public var name: String
    public var shape: [Int]
    /// Offset in floats from the start of the flat buffer.
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }
  }

  public let backend: Backend
  public private(set) var entries: [Entry] = []
  private var index: [String: Int] = [:]
  /// Total floats, including alignment padding (padding is kept at zero).
  public private(set) var totalCount = 0
  public private(set) var values: DeviceBuffer!
  public private(set) var grads: DeviceBuffer!

  /// Floats of alignment between parameters (64 bytes).
  static let alignment = 16

  public init(backend: Backend) { self.backend = backend }

  /// Declares a parameter; call `allocate()` after the last one.
  public func declare(_ name: String, _ shape: [Int]) {
    precondition(values == nil, "declare \(name) after allocate()")
    precondition(index[name] == nil, "parameter \(name) declared twice")
    index[name] = entries.count
    entries.append(Entry(name: name, shape: shape, offset: totalCount))
    totalCount += (shape.reduce(1, *) + Self.alignment - 1) / Self.alignment * Self.alignment
  }

  /// Allocates values and gradients, both zeroed.
  public func allocate() throws {
    values = try backend.allocate(bytes: max(totalCount, 1) * 4)
    grads = try backend.allocate(bytes: max(totalCount, 1) * 4)
    try backend.fill(flat(values), 0)
    try zeroGrads()
  }

  /// The whole buffer as one [total] tensor.
  public func flat(_ buffer: DeviceBuffer) -> Tensor {
    Tensor(buffer: buffer, dtype: .f32, shape: [totalCount])
  }

  public func entry(_ name: String) -> Entry {
    guard let i = index[name] else { preconditionFailure("no parameter \(name)") }
    return entries[i]
  }

  public func contains(_ name: String) -> Bool { index[name] != nil }

  /// The parameter's view in `buffer` (values, grads, or an optimizer moment of this layout).
  public func view(_ name: String, in buffer: DeviceBuffer) -> Tensor {
    let e = entry(name)
    return Tensor(buffer: buffer, offset: e.offset * 4, dtype: .f32, shape: e.shape)
  }

  public func value(_ name: String) -> Tensor { view(name, in: values) }
  public func grad(_ name: String) -> Tensor { view(name, in: grads) }

  public func zeroGrads() throws { try backend.fill(flat(grads), 0) }

  /// Copies one parameter to the host.
  public func read(_ name: String) throws -> [Float] { try backend.download(value(name)) }

  /// Overwrites one parameter from the host.
  public func write(_ name: String, _ values: [Float]) throws {
    let e = entry(name)
    precondition(values.count == e.count, "\(name): \(values.count) values for shape \(e.shape)")
    try values.withUnsafeBytes { try self.values.write($0, at: e.offset * 4) }
  }

  /// sqrt(sum of squares) of every gradient, computed on the device.
  public func gradNorm() throws -> Double {
    let out = try backend.tensor(.f32, [1, 1])
    try backend.reduce(.sumSquares, flat(grads).reshaped([1, totalCount]), into: out, axis: 1)
    return Double(try backend.download(out)[0]).squareRoot()
  }

  /// Number of trainable scalars (without padding).
  public var parameterCount: Int { entries.reduce(0) { $0 + $1.count } }
}
