import CRlax
import CRlaxGuard
import Foundation

/// Marks the calling thread as inside a plugin call for the duration of `body`: the record the
/// fatal-signal handler and the watchdog read (CRlaxGuard). `plugin` must stay valid for the
/// life of the process (PluginLibrary.cName); `operation` is a literal.
@inline(__always)
func insidePlugin<R>(_ plugin: UnsafePointer<CChar>, _ operation: StaticString, watched: Bool = true,
                     _ body: () throws -> R) rethrows -> R {
  var saved = rlax_guard_frame()
  operation.withCPointer { rlax_guard_enter(plugin, $0, watched ? 1 : 0, &saved) }
  defer { rlax_guard_exit(&saved) }
  return try body()
}

extension StaticString {
  /// The literal's NUL-terminated UTF-8 bytes, valid for the life of the process.
  @inline(__always)
  func withCPointer<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
    UnsafeRawPointer(utf8Start).withMemoryRebound(to: CChar.self, capacity: utf8CodeUnitCount + 1) { body($0) }
  }
}

/// The plugin call in flight on this thread, as the crash handler and watchdog see it
/// (nil when none); for tests.
public enum PluginCallRecord {
  public static var current: (plugin: String, operation: String)? {
    guard let p = rlax_guard_current_plugin() else { return nil }
    return (String(cString: p), rlax_guard_current_operation().map { String(cString: $0) } ?? "?")
  }
}

/// The error functions every table begins with, and the conversion of a returned
/// `rlax_error*` into a thrown `PluginError` (destroying the plugin's object).
struct ErrorFunctions {
  let plugin: String
  /// The plugin's name as a C string that lives as long as the process (for the call record).
  let cPlugin: UnsafePointer<CChar>
  let code: @convention(c) (OpaquePointer?) -> rlax_error_code
  let message: @convention(c) (OpaquePointer?) -> UnsafePointer<CChar>?
  let destroy: @convention(c) (OpaquePointer?) -> Void

  init<Table>(table: Table, library: PluginLibrary) {
    let prefix = withUnsafeBytes(of: table) { $0.load(as: rlax_api_prefix.self) }
    self.plugin = library.manifest.name
    cPlugin = library.cName
    code = prefix.error_code!
    message = prefix.error_message!
    destroy = prefix.error_destroy!
  }

  /// Throws the error the plugin returned, if any, and destroys it.
  @inline(__always)
  func check(_ error: OpaquePointer?, _ operation: @autoclosure () -> String) throws {
    guard let error else { return }
    throw convert(error, operation())
  }

  func convert(_ error: OpaquePointer, _ operation: String) -> PluginError {
    let code = PluginErrorCode(raw: self.code(error))
    let text = message(error).map { String(cString: $0) } ?? "(no message)"
    destroy(error)
    return .failed(plugin: plugin, operation: operation, code: code, message: text)
  }

  /// Runs `body` (one call into the plugin) marked as `operation` in flight, then throws the
  /// error it returned, if any, as `label` (default: the operation).
  @inline(__always)
  func checked(_ operation: StaticString, _ label: @autoclosure () -> String? = nil, watched: Bool = true,
               _ body: () -> OpaquePointer?) throws {
    let error = insidePlugin(cPlugin, operation, watched: watched, body)
    guard let error else { return }
    throw convert(error, label() ?? "\(operation)")
  }

  /// Runs `body` (one call into the plugin that returns no error) marked as `operation` in flight.
  @inline(__always)
  func guarded<R>(_ operation: StaticString, _ body: () throws -> R) rethrows -> R {
    try insidePlugin(cPlugin, operation, body)
  }

  /// Calls an optional table function, or throws `unsupported` where it is NULL.
  @inline(__always)
  func call<F>(_ operation: StaticString, _ function: F?, _ body: (F) -> OpaquePointer?) throws {
    guard let function else { throw PluginError.unsupported(plugin: plugin, operation: "\(operation)") }
    try checked(operation) { body(function) }
  }
}

/// `key=value` options handed to a plugin's create, kept as C strings for the call.
public struct PluginOptions: Sendable, Equatable {
  public var pairs: [(key: String, value: String)]

  public init(_ pairs: [(key: String, value: String)] = []) { self.pairs = pairs }

  public static func == (lhs: PluginOptions, rhs: PluginOptions) -> Bool {
    lhs.pairs.map { "\($0.key)=\($0.value)" } == rhs.pairs.map { "\($0.key)=\($0.value)" }
  }

  /// Parses `k=v` strings as given on the command line.
  public static func parse(_ items: [String], flag: String) throws -> PluginOptions {
    var pairs: [(String, String)] = []
    for item in items {
      guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
        throw PluginError.invalidCall(plugin: "rlax", operation: flag, reason: "'\(item)' is not key=value")
      }
      pairs.append((String(item[..<eq]), String(item[item.index(after: eq)...])))
    }
    return PluginOptions(pairs)
  }

  public func with(_ key: String, _ value: String) -> PluginOptions {
    var copy = self
    copy.pairs.removeAll { $0.key == key }
    copy.pairs.append((key, value))
    return copy
  }

  /// Calls `body` with NUL-terminated key and value arrays valid for the call.
  func withCArrays<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?, Int) throws -> R) rethrows -> R {
    let keys = pairs.map { UnsafePointer(strdup($0.key)) }
    let values = pairs.map { UnsafePointer(strdup($0.value)) }
    defer {
      keys.forEach { free(UnsafeMutablePointer(mutating: $0)) }
      values.forEach { free(UnsafeMutablePointer(mutating: $0)) }
    }
    return try keys.withUnsafeBufferPointer { k in
      try values.withUnsafeBufferPointer { v in
        try body(k.baseAddress, v.baseAddress, pairs.count)
      }
    }
  }
}
