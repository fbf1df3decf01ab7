import CRlax
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One plugin shared object, opened with `dlopen(RTLD_NOW | RTLD_LOCAL)`, its manifest read
/// and checked. Libraries stay loaded for the life of the process (as Python keeps extension
/// modules): unloading a library that started threads, such as OpenBLAS, is not safe, and
/// opening the same file twice returns the same object.
public final class PluginLibrary: @unchecked Sendable {
  public let path: String
  public let manifest: PluginManifest
  let handle: UnsafeMutableRawPointer
  let services: HostServices
  /// The manifest name as a C string kept for the life of the process (libraries are never
  /// unloaded), for the record of calls in flight that crash reports and the watchdog read.
  let cName: UnsafePointer<CChar>

  private static let lock = NSLock()
  nonisolated(unsafe) private static var opened: [String: PluginLibrary] = [:]

  /// The manifest of `path` when this process has already loaded it.
  public static func loadedManifest(path: String) -> PluginManifest? {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    lock.lock()
    defer { lock.unlock() }
    return opened[absolute]?.manifest
  }

  /// Opens the shared object at `path` and reads its manifest.
  public static func open(path: String) throws -> PluginLibrary {
    let absolute = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    lock.lock()
    defer { lock.unlock() }
    if let library = opened[absolute] { return library }
    guard FileManager.default.fileExists(atPath: absolute) else {
      throw PluginError.notASharedObject(path: path, reason: "no such file")
    }
    // dlopen runs the library's constructors and rlax_plugin_manifest() is its code: both are
    // recorded as a call into the plugin (named by its path), so a crash or hang there names it.
    let cPath = strdup(absolute)!
    defer { free(cPath) }
    let loaded = insidePlugin(cPath, "dlopen (library constructors)") { dlopen(absolute, RTLD_NOW | RTLD_LOCAL) }
    guard let handle = loaded else {
      let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
      throw PluginError.notASharedObject(path: path, reason: reason)
    }
    let manifest: PluginManifest
    do {
      manifest = try insidePlugin(cPath, "rlax_plugin_manifest") { try readManifest(handle: handle, path: absolute) }
    } catch {
      dlclose(handle)
      throw error
    }
    let library = PluginLibrary(path: absolute, manifest: manifest, handle: handle)
    opened[absolute] = library
    return library
  }

  private init(path: String, manifest: PluginManifest, handle: UnsafeMutableRawPointer) {
    self.path = path
    self.manifest = manifest
    self.handle = handle
    self.services = HostServices(log: PluginLog(pluginPath: path))
    self.cName = UnsafePointer(strdup(manifest.name)!)
  }

  /// The address of an exported symbol, or nil.
  public func symbol(_ name: String) -> UnsafeMutableRawPointer? { dlsym(handle, name) }

  /// Lines the plugin logged most recently through the services table.
  public var recentLog: [String] { services.log.lines }

  /// Whether the manifest claims `kind`.
  public func provides(_ kind: PluginKind) -> Bool { manifest.kinds.contains(kind) }

  /// Calls the get-api entry of `kind` and checks the table it returns: not NULL, ABI major,
  /// struct_size at least `minimumSize`, and every function in `required` non-NULL. Returns a
  /// copy of the table of which only the bytes the plugin's struct_size covers are read; the
  /// rest is zero, so newer optional functions read as NULL (= not supported).
  func functionTable<Table>(_ kind: PluginKind, as: Table.Type, minimumSize: Int,
                            required: [(String, PartialKeyPath<Table>)]) throws -> Table {
    guard provides(kind) else {
      throw PluginError.wrongKind(path: path, name: manifest.name, expected: kind.rawValue,
                                  found: manifest.kinds.map(\.rawValue).joined(separator: ", "))
    }
    guard let entry = symbol(kind.entrySymbol) else {
      throw PluginError.missingSymbol(path: path, symbol: kind.entrySymbol)
    }
    typealias GetAPI = @convention(c) (UnsafePointer<rlax_host_services>?) -> UnsafeRawPointer?
    let getAPI = unsafeBitCast(entry, to: GetAPI.self)
    let operation: StaticString = switch kind {
    case .backend: "rlax_get_backend_api"
    case .algorithm: "rlax_get_algorithm_api"
    case .weightStore: "rlax_get_weight_store_api"
    }
    guard let raw = insidePlugin(cName, operation, { getAPI(services.table) }) else {
      throw PluginError.refusedHost(path: path, log: recentLog)
    }
    let prefix = raw.load(as: rlax_api_prefix.self)
    let tableName = "\(kind.rawValue) table"
    guard prefix.struct_size >= MemoryLayout<rlax_api_prefix>.size else {
      throw PluginError.tableTooSmall(path: path, table: tableName, found: prefix.struct_size,
                                      required: minimumSize)
    }
    guard prefix.abi_major == HostABI.major else {
      throw PluginError.abiMismatch(path: path, what: tableName, plugin: prefix.abi_major, host: HostABI.major)
    }
    guard prefix.struct_size >= minimumSize else {
      throw PluginError.tableTooSmall(path: path, table: tableName, found: prefix.struct_size,
                                      required: minimumSize)
    }
    let table = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Table>.size,
                                                 alignment: MemoryLayout<Table>.alignment)
    defer { table.deallocate() }
    table.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<Table>.size)
    table.copyMemory(from: raw, byteCount: min(prefix.struct_size, MemoryLayout<Table>.size))
    for name in ["error_code", "error_message", "error_destroy"] {
      let offset = MemoryLayout<rlax_api_prefix>.offset(of: name == "error_code" ? \rlax_api_prefix.error_code
        : name == "error_message" ? \rlax_api_prefix.error_message : \rlax_api_prefix.error_destroy)!
      if table.load(fromByteOffset: offset, as: UnsafeRawPointer?.self) == nil {
        throw PluginError.missingFunction(path: path, function: name)
      }
    }
    for (name, keyPath) in required {
      let offset = MemoryLayout<Table>.offset(of: keyPath)!
      if table.load(fromByteOffset: offset, as: UnsafeRawPointer?.self) == nil {
        throw PluginError.missingFunction(path: path, function: name)
      }
    }
    return table.load(as: Table.self)
  }
}

private func readManifest(handle: UnsafeMutableRawPointer, path: String) throws -> PluginManifest {
  guard let symbol = dlsym(handle, RLAX_MANIFEST_SYMBOL) else {
    throw PluginError.missingSymbol(path: path, symbol: RLAX_MANIFEST_SYMBOL)
  }
  let manifestFn = unsafeBitCast(symbol, to: rlax_plugin_manifest_fn.self)
  guard let pointer = manifestFn() else {
    throw PluginError.badManifest(path: path, reason: "rlax_plugin_manifest() returned NULL")
  }
  let size = pointer.pointee.struct_size
  let required = MemoryLayout<rlax_manifest>.offset(of: \rlax_manifest.kinds)! + MemoryLayout<UInt32>.size
  guard size >= required else {
    throw PluginError.badManifest(path: path, reason: "struct_size \(size) is smaller than the \(required) bytes of ABI \(HostABI.major).0")
  }
  let m = pointer.pointee
  guard m.abi_major == HostABI.major else {
    throw PluginError.abiMismatch(path: path, what: "manifest", plugin: m.abi_major, host: HostABI.major)
  }
  guard let namePointer = m.name else { throw PluginError.badManifest(path: path, reason: "name is NULL") }
  let name = String(cString: namePointer)
  guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
    throw PluginError.badManifest(path: path, reason: "name '\(name)' must match [a-z0-9-]+")
  }
  let kinds = PluginKind.kinds(in: m.kinds)
  guard !kinds.isEmpty else { throw PluginError.badManifest(path: path, reason: "kinds is \(m.kinds): names no plugin kind") }
  return PluginManifest(
    name: name, version: m.version.map { String(cString: $0) } ?? "",
    description: m.description.map { String(cString: $0) } ?? "",
    kinds: kinds, abiMajor: m.abi_major, abiMinor: m.abi_minor, path: path)
}
