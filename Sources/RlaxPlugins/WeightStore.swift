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
    errors = ErrorFunctions(table: api, plugin: library.manifest.name)
    var out: OpaquePointer?
    let api = self.api, errors = self.errors
    try options.withCArrays { keys, values, count in
      var args = rlax_weight_store_create_args(struct_size: MemoryLayout<rlax_weight_store_create_args>.size,
                                               option_keys: keys, option_values: values, num_options: count)
      try errors.check(api.create!(&args, &out), "create")
    }
    guard let out else {
      throw PluginError.invalidCall(plugin: library.manifest.name, operation: "create", reason: "returned success but no store")
    }
    handle = out
  }

  public convenience init(_ spec: String, options: PluginOptions = PluginOptions(), locator: PluginLocator = .standard()) throws {
    try self.init(library: try locator.open(spec), options: options)
  }

  deinit { api.destroy!(handle) }

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
        try errors.check(api.publish!(handle, version, p.baseAddress, p.count), "publish(version \(version))")
      }
    }
  }

  /// The newest version, or 0 when there is none.
  public func latest() throws -> UInt64 {
    var out: UInt64 = 0
    try errors.check(api.latest!(handle, &out), "latest")
    return out
  }

  /// Retained versions, oldest first.
  public func versions() throws -> [UInt64] {
    var count = 0
    try errors.check(api.list_versions!(handle, nil, 0, &count), "list_versions")
    while true {
      var out = [UInt64](repeating: 0, count: count)
      var found = 0
      try out.withUnsafeMutableBufferPointer { p in
        try errors.check(api.list_versions!(handle, p.baseAddress, p.count, &found), "list_versions")
      }
      if found <= count { return Array(out.prefix(found)) }
      count = found  // a version was published between the two calls
    }
  }

  /// The tensors of a version, in publish order.
  public func tensorInfos(version: UInt64) throws -> [TensorInfo] {
    var count = 0
    try errors.check(api.tensor_count!(handle, version, &count), "tensor_count(version \(version))")
    return try (0..<count).map { i in
      var info = rlax_tensor_info()
      info.struct_size = MemoryLayout<rlax_tensor_info>.size
      try errors.check(api.tensor_info!(handle, version, i, &info), "tensor_info(version \(version), index \(i))")
      let name = withUnsafeBytes(of: info.name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
      let shape = withUnsafeBytes(of: info.shape) { p in (0..<Int(info.rank)).map { Int(p.load(fromByteOffset: $0 * 8, as: Int64.self)) } }
      guard let dtype = DType(c: info.dtype) else {
        throw PluginError.invalidCall(plugin: name, operation: "tensor_info", reason: "unknown dtype \(info.dtype.rawValue) for '\(name)'")
      }
      return TensorInfo(name: name, dtype: dtype, shape: shape, nbytes: Int(info.nbytes))
    }
  }

  /// Fetches every tensor of a version (or only `names`), checksums verified by the store.
  public func fetch(version: UInt64, names: [String]? = nil) throws -> [HostTensor] {
    let infos = try tensorInfos(version: version)
    let wanted = names.map { n in infos.filter { n.contains($0.name) } } ?? infos
    let pinned = wanted.map { UnsafeMutableRawBufferPointer.allocate(byteCount: $0.nbytes, alignment: 16) }
    defer { pinned.forEach { $0.deallocate() } }
    try fetch(version: version, into: zip(wanted, pinned).map { ($0.name, $1) })
    return zip(wanted, pinned).map { HostTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, bytes: Array($1)) }
  }

  /// Fetches named tensors straight into caller memory.
  public func fetch(version: UInt64, into targets: [(name: String, destination: UnsafeMutableRawBufferPointer)]) throws {
    let cNames = targets.map { strdup($0.name) }
    defer { cNames.forEach { free($0) } }
    var requests = targets.enumerated().map { i, t in
      rlax_fetch_request(struct_size: MemoryLayout<rlax_fetch_request>.size, name: UnsafePointer(cNames[i]),
                         data: t.destination.baseAddress, nbytes: UInt64(t.destination.count))
    }
    try requests.withUnsafeMutableBufferPointer { r in
      let pointers: [UnsafePointer<rlax_fetch_request>?] = (0..<r.count).map { UnsafePointer(r.baseAddress! + $0) }
      try pointers.withUnsafeBufferPointer { p in
        try errors.check(api.fetch!(handle, version, p.baseAddress, p.count), "fetch(version \(version))")
      }
    }
  }

  /// Waits for a version newer than `after`; nil on timeout. `timeoutMs < 0` waits forever.
  public func waitNewer(than after: UInt64, timeoutMs: Int) throws -> UInt64? {
    var out: UInt64 = 0
    try errors.check(api.wait_newer!(handle, after, Int64(timeoutMs), &out), "wait_newer(after \(after))")
    return out > after ? out : nil
  }

  /// Damages a stored tensor so the next fetch must report CORRUPT (conformance tests).
  public func corruptForTesting(version: UInt64, tensor: String) throws {
    try errors.call("corrupt_for_testing", api.corrupt_for_testing) { f in
      tensor.withCString { f(handle, version, $0) }
    }
  }
}
