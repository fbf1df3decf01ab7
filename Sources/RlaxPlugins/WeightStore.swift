import CRlax
import Foundation

/// A named tensor in host memory, as published to and fetched from a weight store.
public struct HostTensor: Sendable, Equatable {
  public var name: String
  public var dtype: DType
  public var shape: [Int]
  public var bytes: [UInt8]

  public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) {
    self.name = name; self.dtype = dtype; self.shape = shape; self.bytes = bytes
  }

  public init(name: String, shape: [Int], floats: [Float]) {
    self.init(name: name, dtype: .f32, shape: shape, bytes: floats.withUnsafeBytes { Array($0) })
  }

  public var floats: [Float] {
    bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
  }
}

/// Shape and size of one tensor of a stored version.
public struct TensorInfo: Sendable, Equatable, Codable {
  public var name: String
  public var dtype: DType
  public var shape: [Int]
  public var nbytes: Int

  public init(name: String, dtype: DType, shape: [Int], nbytes: Int) {
    self.name = name; self.dtype = dtype; self.shape = shape; self.nbytes = nbytes
  }
}

/// A weight-store instance; destroyed on deinit. Thread-safe, as the ABI requires.
public final class WeightStore: @unchecked Sendable {
  public let library: PluginLibrary
  public var name: String { library.manifest.name }
  let api: rlax_weight_store_api
  let errors: ErrorFunctions
  let handle: OpaquePointer

  static func table(of library: PluginLibrary) throws -> rlax_weight_store_api {
    try library.functionTable(
      .weightStore, as: rlax_weight_store_api.self,
      minimumSize: MemoryLayout<rlax_weight_store_api>.offset(of: \.wait_newer)! + MemoryLayout<UnsafeRawPointer>.size,
      required: [("create", \.create), ("destroy", \.destroy), ("publish", \.publish), ("latest", \.latest),
                 ("list_versions", \.list_versions), ("tensor_count", \.tensor_count), ("tensor_info", \.tensor_info),
                 ("fetch", \.fetch), ("wait_newer", \.wait_newer)])
  }

  public init(library: PluginLibrary, options: PluginOptions = PluginOptions()) throws {
    self.library = library
    api = try WeightStore.table(of: library)
    errors = ErrorFunctions(table: api, library: library)
    var out: OpaquePointer?
    let api = self.api, errors = self.errors
    try options.withCArrays { keys, values, count in
      var args = rlax_weight_store_create_args(struct_size: MemoryLayout<rlax_weight_store_create_args>.size,
                                               option_keys: keys, option_values: values, num_options: count)
      try errors.checked("create") { api.create!(&args, &out) }
    }
    guard let out else {
      throw PluginError.invalidCall(plugin: library.manifest.name, operation: "create", reason: "returned success but no store")
    }
    handle = out
  }

  public convenience init(_ spec: String, options: PluginOptions = PluginOptions(), locator: PluginLocator = .standard()) throws {
    try self.init(library: try locator.open(spec), options: options)
  }

  deinit {
    let api = self.api, handle = self.handle
    errors.guarded("destroy") { api.destroy!(handle) }
  }

  /// Whether the store offers corrupt_for_testing.
  public var canCorruptForTesting: Bool { api.corrupt_for_testing != nil }

  /// Publishes `tensors` as `version`, atomically.
  public func publish(version: UInt64, tensors: [HostTensor]) throws {
    let names = tensors.map { strdup($0.name) }
    defer { names.forEach { free($0) } }
    var datas = [rlax_tensor_data](repeating: rlax_tensor_data(), count: tensors.count)
    // Keep every byte array pinned for the call by copying into one contiguous allocation.
    let total = tensors.reduce(0) { $0 + $1.bytes.count }
    let storage = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 16)
    defer { storage.deallocate() }
    var cursor = 0
    for (i, t) in tensors.enumerated() {
      guard t.shape.count <= Int(RLAX_MAX_RANK) else {
        throw PluginError.invalidCall(plugin: name, operation: "publish", reason: "tensor '\(t.name)' has rank \(t.shape.count) > \(RLAX_MAX_RANK)")
      }
      t.bytes.withUnsafeBytes { src in
        if let base = src.baseAddress { (storage + cursor).copyMemory(from: base, byteCount: src.count) }
      }
      datas[i].struct_size = MemoryLayout<rlax_tensor_data>.size
      datas[i].name = UnsafePointer(names[i])
      datas[i].dtype = t.dtype.c
      datas[i].rank = Int32(t.shape.count)
      withUnsafeMutableBytes(of: &datas[i].shape) { p in
        for (k, s) in t.shape.enumerated() { p.storeBytes(of: Int64(s), toByteOffset: k * 8, as: Int64.self) }
      }
      datas[i].data = UnsafeRawPointer(storage + cursor)
      datas[i].nbytes = UInt64(t.bytes.count)
      cursor += t.bytes.count
    }
    try datas.withUnsafeMutableBufferPointer { d in
      let pointers: [UnsafePointer<rlax_tensor_data>?] = (0..<d.count).map { UnsafePointer(d.baseAddress! + $0) }
      try pointers.withUnsafeBufferPointer { p in
        try errors.checked("publish", "publish(version \(version))") { api.publish!(handle, version, p.baseAddress, p.count) }
      }
    }
  }

  /// The newest version, or 0 when there is none.
  public func latest() throws -> UInt64 {
    var out: UInt64 = 0
    try errors.checked("latest") { api.latest!(handle, &out) }
    return out
  }

  /// Retained versions, oldest first.
  public func versions() throws -> [UInt64] {
    var count = 0
    try errors.checked("list_versions") { api.list_versions!(handle, nil, 0, &count) }
    while true {
      var out = [UInt64](repeating: 0, count: count)
      var found = 0
      try out.withUnsafeMutableBufferPointer { p in
        try errors.checked("list_versions") { api.list_versions!(handle, p.baseAddress, p.count, &found) }
      }
      if found <= count { return Array(out.prefix(found)) }
      count = found  // a version was published between the two calls
    }
  }

  /// The most tensors one version may hold: a store reporting more is not believed.
  public static let maxTensorsPerVersion = 1 << 20

  /// The tensors of a version, in publish order. Everything the store reports is checked before
  /// use: rank 0...RLAX_MAX_RANK, dims >= 0, a known dtype, a NUL-terminated name unique in the
  /// version, and nbytes = dtype size x product(dims) (overflow-checked), or `badOutput`.
  public func tensorInfos(version: UInt64) throws -> [TensorInfo] {
    var count = 0
    try errors.checked("tensor_count", "tensor_count(version \(version))") { api.tensor_count!(handle, version, &count) }
    guard count <= WeightStore.maxTensorsPerVersion else {
      throw PluginError.badOutput(plugin: name, operation: "tensor_count(version \(version))",
                                  reason: "\(count) tensors; the host accepts at most \(WeightStore.maxTensorsPerVersion)")
    }
    var seen = Set<String>()
    return try (0..<count).map { i in
      var info = rlax_tensor_info()
      info.struct_size = MemoryLayout<rlax_tensor_info>.size
      let operation = "tensor_info(version \(version), index \(i))"
      try errors.checked("tensor_info", operation) { api.tensor_info!(handle, version, i, &info) }
      let checked = try WeightStore.validate(info, plugin: name, operation: operation)
      guard seen.insert(checked.name).inserted else {
        throw PluginError.badOutput(plugin: name, operation: operation, reason: "tensor '\(checked.name)' appears twice in the version")
      }
      return checked
    }
  }

  /// Checks one rlax_tensor_info as a store filled it in.
  static func validate(_ info: rlax_tensor_info, plugin: String, operation: String) throws -> TensorInfo {
    func bad(_ reason: String) -> PluginError { .badOutput(plugin: plugin, operation: operation, reason: reason) }
    let nameBytes = withUnsafeBytes(of: info.name) { Array($0) }
    guard let end = nameBytes.firstIndex(of: 0) else {
      throw bad("the tensor name is not NUL-terminated within \(RLAX_MAX_TENSOR_NAME) bytes")
    }
    let name = String(decoding: nameBytes[..<end], as: UTF8.self)
    guard !name.isEmpty else { throw bad("a tensor has an empty name") }
    guard info.rank >= 0 && info.rank <= RLAX_MAX_RANK else {
      throw bad("tensor '\(name)' has rank \(info.rank), expected 0...\(RLAX_MAX_RANK)")
    }
    let dims = withUnsafeBytes(of: info.shape) { p in (0..<Int(info.rank)).map { p.load(fromByteOffset: $0 * 8, as: Int64.self) } }
    if let negative = dims.firstIndex(where: { $0 < 0 }) {
      throw bad("tensor '\(name)' has dimension \(negative) = \(dims[negative]) (shape \(dims)), expected >= 0")
    }
    guard let dtype = DType(c: info.dtype) else {
      throw bad("tensor '\(name)' has unknown dtype \(info.dtype.rawValue)")
    }
    // dtype size x product(dims), refusing anything that overflows (or exceeds Int.max).
    var expected = UInt64(dtype.size)
    for d in dims {
      let (product, overflow) = expected.multipliedReportingOverflow(by: UInt64(d))
      guard !overflow, product <= UInt64(Int.max) else {
        throw bad("tensor '\(name)' of shape \(dims) and dtype \(dtype.name) would take more than \(Int.max) bytes")
      }
      expected = product
    }
    guard info.nbytes == expected else {
      throw bad("tensor '\(name)' of shape \(dims) and dtype \(dtype.name) has nbytes \(info.nbytes), expected \(expected) (= \(dtype.size) x \(dims.map(String.init).joined(separator: " x ")))")
    }
    return TensorInfo(name: name, dtype: dtype, shape: dims.map { Int($0) }, nbytes: Int(expected))
  }

  /// Fetches every tensor of a version (or only `names`, each of which must be in it),
  /// checksums verified by the store.
  public func fetch(version: UInt64, names: [String]? = nil) throws -> [HostTensor] {
    let infos = try tensorInfos(version: version)
    var wanted = infos
    if let names {
      let byName = Dictionary(infos.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
      wanted = try names.map { n in
        guard let info = byName[n] else {
          throw PluginError.badOutput(plugin: name, operation: "fetch(version \(version))",
                                      reason: "tensor '\(n)' is missing from the version (it holds \(infos.count) tensors)")
        }
        return info
      }
    }
    let pinned = wanted.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0.nbytes, alignment: 16) }
    defer { pinned.forEach { $0.deallocate() } }
    try fetch(version: version, into: zip(wanted, pinned).map { ($0.name, $1) })
    return zip(wanted, pinned).map { HostTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: Array($1)) }
  }

  /// Byte patterns the host fills destinations with before a fetch, to catch a store that
  /// reports success without writing a tensor (or part of one): bytes still holding the first
  /// pattern are fetched again over the second; bytes that then hold the second were never
  /// written. A real tensor equal to the pattern costs one extra fetch, never a false error.
  static let unwrittenPatterns: (UInt64, UInt64) = (0x7FF4_DEAD_7FF4_BEEF, ~0x7FF4_DEAD_7FF4_BEEF)  // every byte differs

  static func fill(_ buffer: UnsafeMutableRawBufferPointer, _ pattern: UInt64) {
    let words = buffer.count / 8
    for w in 0..<words { buffer.storeBytes(of: pattern.littleEndian, toByteOffset: w * 8, as: UInt64.self) }
    withUnsafeBytes(of: pattern.littleEndian) { p in
      for i in (words * 8)..<buffer.count { buffer[i] = p[i & 7] }
    }
  }

  /// The offset of the first 8-byte word (or the tail) of `buffer` still equal to `pattern`.
  static func firstPatternByte(_ buffer: UnsafeRawBufferPointer, _ pattern: UInt64) -> Int? {
    let words = buffer.count / 8
    for w in 0..<words where buffer.loadUnaligned(fromByteOffset: w * 8, as: UInt64.self) == pattern.littleEndian {
      return w * 8
    }
    let tail = words * 8
    guard tail < buffer.count else { return nil }
    let same = withUnsafeBytes(of: pattern.littleEndian) { p in (tail..<buffer.count).allSatisfy { buffer[$0] == p[$0 & 7] } }
    return same ? tail : nil
  }

  /// Fetches named tensors straight into caller memory; a destination the store leaves
  /// unwritten (in whole or in part) is a `badOutput` error, never stale bytes or zeros.
  public func fetch(version: UInt64, into targets: [(name: String, destination: UnsafeMutableRawBufferPointer)]) throws {
    for t in targets { WeightStore.fill(t.destination, WeightStore.unwrittenPatterns.0) }
    try rawFetch(version: version, into: targets)
    for t in targets {
      guard WeightStore.firstPatternByte(UnsafeRawBufferPointer(t.destination), WeightStore.unwrittenPatterns.0) != nil else { continue }
      // Suspicious: fetch this one tensor again over the other pattern and compare.
      let again = UnsafeMutableRawBufferPointer.allocate(byteCount: t.destination.count, alignment: 16)
      defer { again.deallocate() }
      WeightStore.fill(again, WeightStore.unwrittenPatterns.1)
      try rawFetch(version: version, into: [(t.name, again)])
      if let i = (0..<t.destination.count).first(where: { t.destination[$0] != again[$0] }) {
        var end = i
        while end < t.destination.count && t.destination[end] != again[end] { end += 1 }
        throw PluginError.badOutput(
          plugin: name, operation: "fetch(version \(version))",
          reason: "reported success but left tensor '\(t.name)' unwritten (bytes \(i)..<\(end) of \(t.destination.count) untouched)")
      }
    }
  }

  func rawFetch(version: UInt64, into targets: [(name: String, destination: UnsafeMutableRawBufferPointer)]) throws {
    let cNames = targets.map { strdup($0.name) }
    defer { cNames.forEach { free($0) } }
    var requests = targets.enumerated().map { i, t in
      rlax_fetch_request(struct_size: MemoryLayout<rlax_fetch_request>.size, name: UnsafePointer(cNames[i]),
                         data: t.destination.baseAddress, nbytes: UInt64(t.destination.count))
    }
    try requests.withUnsafeMutableBufferPointer { r in
      let pointers: [UnsafePointer<rlax_fetch_request>?] = (0..<r.count).map { UnsafePointer(r.baseAddress! + $0) }
      try pointers.withUnsafeBufferPointer { p in
        try errors.checked("fetch", "fetch(version \(version))") { api.fetch!(handle, version, p.baseAddress, p.count) }
      }
    }
  }

  /// Waits for a version newer than `after`; nil on timeout. `timeoutMs < 0` waits forever.
  public func waitNewer(than after: UInt64, timeoutMs: Int) throws -> UInt64? {
    var out: UInt64 = 0
    try errors.checked("wait_newer", "wait_newer(after \(after))", watched: false) { api.wait_newer!(handle, after, Int64(timeoutMs), &out) }
    return out > after ? out : nil
  }

  /// Damages a stored tensor so the next fetch must report CORRUPT (conformance tests).
  public func corruptForTesting(version: UInt64, tensor: String) throws {
    try errors.call("corrupt_for_testing", api.corrupt_for_testing) { f in
      tensor.withCString { f(handle, version, $0) }
    }
  }
}
