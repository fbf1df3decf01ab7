import CRlax
import Foundation

/// What a backend says about its device (rlax_device_desc).
public struct DeviceDescription: Sendable, Codable, Equatable {
  public var name: String
  public var platform: String
  public var present: Bool
  public var deviceCount: Int
  public var memoryBytes: UInt64
  public var peakFlopsF32: Double
  public var peakFlopsBF16: Double
  public var memoryBandwidth: Double
  public var dtypes: [String]
  public var capabilities: [String]
}

/// Counters a backend keeps (rlax_counters).
public struct BackendCounters: Sendable, Codable, Equatable {
  public var ops: UInt64
  public var flops: Double
  public var bytesMoved: UInt64
  public var bytesToDevice: UInt64
  public var bytesFromDevice: UInt64
  public var memoryInUse: UInt64
  public var peakMemory: UInt64
  /// Simulated device seconds, or nil when the backend has no simulated clock.
  public var simulatedSeconds: Double?
  /// The simulated time split by what bounded each op (nil without a clock).
  public var simulatedComputeSeconds: Double?
  public var simulatedMemorySeconds: Double?
  public var simulatedCollectiveSeconds: Double?
}

/// A device-backend instance: owns the plugin's `rlax_backend` (destroyed on deinit) and
/// exposes its memory and ops. Use from one thread at a time, as the ABI requires.
public final class Backend: @unchecked Sendable {
  public let library: PluginLibrary
  public var name: String { library.manifest.name }
  let api: rlax_backend_api
  let errors: ErrorFunctions
  let handle: OpaquePointer
  /// Descriptor slots that op calls fill in, so an op call allocates nothing.
  let slots: UnsafeMutablePointer<rlax_tensor>
  /// Bit i set: slot i describes a tensor of the op being called.
  var slotsInUse = 0
  static let slotCount = 16

  static let required: [(String, PartialKeyPath<rlax_backend_api>)] = [
    ("create", \.create), ("destroy", \.destroy), ("describe", \.describe),
    ("buffer_allocate", \.buffer_allocate), ("buffer_free", \.buffer_free),
    ("buffer_copy_from_host", \.buffer_copy_from_host), ("buffer_copy_to_host", \.buffer_copy_to_host),
    ("synchronize", \.synchronize), ("get_counters", \.get_counters), ("reset_counters", \.reset_counters),
  ]

  /// Checks the backend table of `library` without creating a backend.
  static func table(of library: PluginLibrary) throws -> rlax_backend_api {
    try library.functionTable(.backend, as: rlax_backend_api.self,
                              minimumSize: MemoryLayout<rlax_backend_api>.offset(of: \.reset_counters)! + MemoryLayout<UnsafeRawPointer>.size,
                              required: required)
  }

  public init(library: PluginLibrary, options: PluginOptions = PluginOptions()) throws {
    self.library = library
    api = try Backend.table(of: library)
    errors = ErrorFunctions(table: api, library: library)
    var out: OpaquePointer?
    let api = self.api, errors = self.errors
    try options.withCArrays { keys, values, count in
      var args = rlax_backend_create_args(struct_size: MemoryLayout<rlax_backend_create_args>.size,
                                          option_keys: keys, option_values: values, num_options: count)
      try errors.checked("create") { api.create!(&args, &out) }
    }
    guard let out else {
      throw PluginError.invalidCall(plugin: library.manifest.name, operation: "create", reason: "returned success but no backend")
    }
    handle = out
    slots = .allocate(capacity: Backend.slotCount)
    slots.initialize(repeating: rlax_tensor(), count: Backend.slotCount)
  }

  /// Opens the plugin `spec` (name or path) and creates a backend.
  public convenience init(_ spec: String, options: PluginOptions = PluginOptions(),
                          locator: PluginLocator = .standard()) throws {
    try self.init(library: try locator.open(spec), options: options)
  }

  deinit {
    let api = self.api, handle = self.handle
    errors.guarded("destroy") { api.destroy!(handle) }
    slots.deallocate()
  }

  public func describe() throws -> DeviceDescription {
    var d = rlax_device_desc()
    d.struct_size = MemoryLayout<rlax_device_desc>.size
    try errors.checked("describe") { api.describe!(handle, &d) }
    var caps: [String] = []
    let flags: [(Int, String)] = [
      (RLAX_CAP_SIMULATED_CLOCK, "simulated-clock"), (RLAX_CAP_MEMORY_LIMIT, "memory-limit"),
      (RLAX_CAP_BF16_MATMUL, "bf16-matmul"), (RLAX_CAP_PREEMPTION, "preemption"),
    ]
    for (bit, name) in flags where d.capabilities & UInt64(bit) != 0 { caps.append(name) }
    return DeviceDescription(
      name: d.name.map { String(cString: $0) } ?? "", platform: d.platform.map { String(cString: $0) } ?? "",
      present: d.present, deviceCount: Int(d.device_count), memoryBytes: d.memory_bytes,
      peakFlopsF32: d.peak_flops_f32, peakFlopsBF16: d.peak_flops_bf16,
      memoryBandwidth: d.memory_bandwidth_bytes_per_s, dtypes: DType.names(in: d.dtypes), capabilities: caps)
  }

  /// Allocates `bytes` of device memory.
  public func allocate(bytes: Int) throws -> DeviceBuffer {
    guard bytes > 0 else {
      throw PluginError.invalidCall(plugin: name, operation: "buffer_allocate", reason: "size must be > 0, got \(bytes)")
    }
    var out: OpaquePointer?
    try errors.checked("buffer_allocate", "buffer_allocate(\(bytes) bytes)") { api.buffer_allocate!(handle, UInt64(bytes), &out) }
    guard let out else {
      throw PluginError.invalidCall(plugin: name, operation: "buffer_allocate", reason: "returned success but no buffer")
    }
    return DeviceBuffer(backend: self, handle: out, size: bytes)
  }

  /// A new contiguous tensor (contents undefined).
  public func tensor(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
    let count = shape.reduce(1, *)
    return Tensor(buffer: try allocate(bytes: max(count * dtype.size, 1)), dtype: dtype, shape: shape)
  }

  /// A new contiguous f32 tensor holding `values`.
  public func upload(_ values: [Float], shape: [Int]) throws -> Tensor {
    try upload(values, dtype: .f32, shape: shape)
  }

  /// A new contiguous i32 tensor holding `values`.
  public func uploadInt32(_ values: [Int32], shape: [Int]) throws -> Tensor {
    try upload(values, dtype: .i32, shape: shape)
  }

  func upload<T>(_ values: [T], dtype: DType, shape: [Int]) throws -> Tensor {
    guard values.count == shape.reduce(1, *) else {
      throw PluginError.invalidCall(plugin: name, operation: "upload", reason: "\(values.count) values for shape \(shape)")
    }
    let t = try tensor(dtype, shape)
    try values.withUnsafeBytes { try t.buffer.write($0, at: t.offset) }
    return t
  }

  /// Reads a contiguous f32 tensor back to the host.
  public func download(_ t: Tensor) throws -> [Float] {
    try downloadRaw(t, as: Float.self, dtype: .f32)
  }

  /// Reads a contiguous i32 tensor back to the host.
  public func downloadInt32(_ t: Tensor) throws -> [Int32] {
    try downloadRaw(t, as: Int32.self, dtype: .i32)
  }

  func downloadRaw<T>(_ t: Tensor, as: T.Type, dtype: DType) throws -> [T] where T: Numeric {
    guard t.dtype == dtype, t.isContiguous else {
      throw PluginError.invalidCall(plugin: name, operation: "download",
                                    reason: "needs a contiguous \(dtype.name) tensor, got \(t.dtype.name) strides \(t.strides) for shape \(t.shape)")
    }
    var out = [T](repeating: 0, count: t.count)
    try out.withUnsafeMutableBytes { try t.buffer.read(into: $0, at: t.offset) }
    return out
  }

  public func synchronize() throws { try errors.checked("synchronize") { api.synchronize!(handle) } }

  public func counters() throws -> BackendCounters {
    var c = rlax_counters()
    c.struct_size = MemoryLayout<rlax_counters>.size
    // Fields an older plugin does not fill read as "no clock".
    c.simulated_compute_seconds = -1
    c.simulated_memory_seconds = -1
    c.simulated_collective_seconds = -1
    try errors.checked("get_counters") { api.get_counters!(handle, &c) }
    return BackendCounters(ops: c.ops, flops: c.flops, bytesMoved: c.bytes_moved, bytesToDevice: c.bytes_to_device,
                           bytesFromDevice: c.bytes_from_device, memoryInUse: c.memory_in_use,
                           peakMemory: c.peak_memory, simulatedSeconds: c.simulated_seconds < 0 ? nil : c.simulated_seconds,
                           simulatedComputeSeconds: c.simulated_compute_seconds < 0 || c.simulated_seconds < 0 ? nil : c.simulated_compute_seconds,
                           simulatedMemorySeconds: c.simulated_memory_seconds < 0 || c.simulated_seconds < 0 ? nil : c.simulated_memory_seconds,
                           simulatedCollectiveSeconds: c.simulated_collective_seconds < 0 || c.simulated_seconds < 0 ? nil : c.simulated_collective_seconds)
  }

  public func resetCounters() throws { try errors.checked("reset_counters") { api.reset_counters!(handle) } }

  /// Which ops the table provides (non-NULL), by ABI name.
  public var supportedOps: [String: Bool] {
    BackendOp.allCases.reduce(into: [:]) { $0[$1.rawValue] = $1.isSupported(by: api) }
  }

  /// Fills descriptor slot `index` from `tensor` and returns a pointer to it (nil for nil).
  @inline(__always)
  func slot(_ index: Int, _ tensor: Tensor?) -> UnsafePointer<rlax_tensor>? {
    guard let tensor else { return nil }
    tensor.describe(into: slots + index)
    slotsInUse |= 1 << index
    return UnsafePointer(slots + index)
  }

  /// One op call; an error it returns names the shapes of the op's tensors, so a failure deep
  /// in a run says what it was computing ("matmul on [4, 32] f32, [32, 96] f32, ...").
  @inline(__always)
  func opCall<F>(_ operation: StaticString, _ function: F?, _ body: (F) -> OpaquePointer?) throws {
    defer { slotsInUse = 0 }
    do { try errors.call(operation, function, body) } catch PluginError.failed(let plugin, let op, let code, let message) {
      throw PluginError.failed(plugin: plugin, operation: "\(op) on \(describeSlotsInUse())", code: code, message: message)
    }
  }

  func describeSlotsInUse() -> String {
    (0..<Backend.slotCount).filter { slotsInUse & (1 << $0) != 0 }.map { i -> String in
      let t = slots[i]
      let shape = withUnsafeBytes(of: t.shape) { Array($0.bindMemory(to: Int64.self).prefix(Int(max(0, min(t.rank, Int32(RLAX_MAX_RANK)))))) }
      let dtype = DType(rawValue: t.dtype.rawValue).map { "\($0)" } ?? "dtype \(t.dtype.rawValue)"
      return "[\(shape.map(String.init).joined(separator: ", "))] \(dtype)"
    }.joined(separator: ", ")
  }
}

/// One allocation of device memory, freed on deinit. Keeps its backend alive.
public final class DeviceBuffer: @unchecked Sendable {
  public let backend: Backend
  let handle: OpaquePointer
  public let size: Int

  init(backend: Backend, handle: OpaquePointer, size: Int) {
    self.backend = backend
    self.handle = handle
    self.size = size
  }

  deinit {
    let api = backend.api, owner = backend.handle, handle = self.handle
    backend.errors.guarded("buffer_free") { api.buffer_free!(owner, handle) }
  }

  /// Copies host bytes into the buffer at `offset`.
  public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int = 0) throws {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    try backend.errors.checked("buffer_copy_from_host", "buffer_copy_from_host(offset \(offset), \(bytes.count) bytes)") {
      backend.api.buffer_copy_from_host!(backend.handle, handle, UInt64(offset), base, UInt64(bytes.count))
    }
  }

  /// Copies bytes at `offset` of the buffer into host memory.
  public func read(into bytes: UnsafeMutableRawBufferPointer, at offset: Int = 0) throws {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    try backend.errors.checked("buffer_copy_to_host", "buffer_copy_to_host(offset \(offset), \(bytes.count) bytes)") {
      backend.api.buffer_copy_to_host!(backend.handle, handle, UInt64(offset), base, UInt64(bytes.count))
    }
  }
}

/// A view of device memory: buffer, byte offset, dtype, shape and strides in elements.
public struct Tensor: @unchecked Sendable {
  public let buffer: DeviceBuffer
  public var offset: Int
  public var dtype: DType
  public var shape: [Int]
  public var strides: [Int]

  /// A contiguous row-major view from `offset`.
  public init(buffer: DeviceBuffer, offset: Int = 0, dtype: DType, shape: [Int], strides: [Int]? = nil) {
    self.buffer = buffer
    self.offset = offset
    self.dtype = dtype
    self.shape = shape
    self.strides = strides ?? Tensor.contiguousStrides(shape)
  }

  public static func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
      strides[i] = acc
      acc *= shape[i]
    }
    return strides
  }

  public var count: Int { shape.reduce(1, *) }
  public var rank: Int { shape.count }
  public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

  /// The same elements seen with another shape (contiguous tensors only).
  public func reshaped(_ newShape: [Int]) -> Tensor {
    precondition(isContiguous && newShape.reduce(1, *) == count, "reshape of \(shape) to \(newShape)")
    return Tensor(buffer: buffer, offset: offset, dtype: dtype, shape: newShape)
  }

  /// Swaps two axes (a strided view; no data moves).
  public func transposed(_ a: Int, _ b: Int) -> Tensor {
    var t = self
    t.shape.swapAt(a, b)
    t.strides.swapAt(a, b)
    return t
  }

  /// Elements [start, start + length) of `axis`.
  public func slice(axis: Int, start: Int, length: Int) -> Tensor {
    var t = self
    t.offset += start * strides[axis] * dtype.size
    t.shape[axis] = length
    return t
  }

  func describe(into d: UnsafeMutablePointer<rlax_tensor>) {
    d.pointee.struct_size = MemoryLayout<rlax_tensor>.size
    d.pointee.buffer = buffer.handle
    d.pointee.offset = UInt64(offset)
    d.pointee.dtype = dtype.c
    d.pointee.rank = Int32(shape.count)
    withUnsafeMutableBytes(of: &d.pointee.shape) { p in
      for (i, s) in shape.prefix(Int(RLAX_MAX_RANK)).enumerated() { p.storeBytes(of: Int64(s), toByteOffset: i * 8, as: Int64.self) }
    }
    withUnsafeMutableBytes(of: &d.pointee.strides) { p in
      for (i, s) in strides.prefix(Int(RLAX_MAX_RANK)).enumerated() { p.storeBytes(of: Int64(s), toByteOffset: i * 8, as: Int64.self) }
    }
  }
}
