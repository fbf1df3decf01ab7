import CRlax

/// The error code a plugin attached to a failure (rlax_error_code).
public enum PluginErrorCode: Int, Sendable, CustomStringConvertible {
  case invalidArgument = 1, outOfMemory, unimplemented, unavailable, preempted, notFound, corrupt, io, internalError

  init(raw: rlax_error_code) { self = PluginErrorCode(rawValue: Int(raw.rawValue)) ?? .internalError }

  public var description: String {
    switch self {
    case .invalidArgument: "INVALID_ARGUMENT"
    case .outOfMemory: "OUT_OF_MEMORY"
    case .unimplemented: "UNIMPLEMENTED"
    case .unavailable: "UNAVAILABLE"
    case .preempted: "PREEMPTED"
    case .notFound: "NOT_FOUND"
    case .corrupt: "CORRUPT"
    case .io: "IO"
    case .internalError: "INTERNAL"
    }
  }
}

/// Everything that can go wrong loading or calling a plugin. Each case names the plugin (by
/// file path or manifest name) and says what was expected and what was found.
public enum PluginError: Error, CustomStringConvertible, Equatable {
  /// No plugin of that name in any search directory.
  case notFound(name: String, searched: [String], available: [String])
  /// dlopen refused the file (not a shared object, missing dependency, ...).
  case notASharedObject(path: String, reason: String)
  /// A required exported symbol is missing.
  case missingSymbol(path: String, symbol: String)
  /// The plugin was built for another ABI major version.
  case abiMismatch(path: String, what: String, plugin: UInt32, host: UInt32)
  /// The plugin does not implement the kind asked for.
  case wrongKind(path: String, name: String, expected: String, found: String)
  /// The get-api entry returned NULL: the plugin refused this host.
  case refusedHost(path: String, log: [String])
  /// The function table's struct_size does not cover what this host requires.
  case tableTooSmall(path: String, table: String, found: Int, required: Int)
  /// A function this host requires is NULL in the table.
  case missingFunction(path: String, function: String)
  /// The manifest is malformed.
  case badManifest(path: String, reason: String)
  /// The plugin returned an error object.
  case failed(plugin: String, operation: String, code: PluginErrorCode, message: String)
  /// The plugin leaves this optional function NULL.
  case unsupported(plugin: String, operation: String)
  /// The host refused a call before it reached the plugin (bad shape, size, ...).
  case invalidCall(plugin: String, operation: String, reason: String)
  /// The plugin reported success but what it returned breaks the ABI's promises (a non-finite
  /// loss, a gradient on padding, a tensor of the wrong size, a buffer left unwritten, ...);
  /// the host uses none of it.
  case badOutput(plugin: String, operation: String, reason: String)
  /// Probing the file in a child process failed: its constructors or manifest function
  /// crashed or hung there, or its manifest is bad. It is never loaded into this process.
  case unloadable(path: String, reason: String)
  /// No plugin of that name loads: candidates that might have been it could not be probed
  /// (their constructors crashed or hung in a probe process, or their manifests are bad).
  case notFoundSkippingBroken(name: String, searched: [String], available: [String], broken: [String])

  public var description: String {
    switch self {
    case .notFound(let name, let searched, let available):
      let avail = available.isEmpty ? "none" : available.joined(separator: ", ")
      return "plugin '\(name)' not found; searched \(searched.isEmpty ? "no directories" : searched.joined(separator: ", ")) (set RLAX_PLUGIN_PATH or give a path); available: \(avail)"
    case .notASharedObject(let path, let reason):
      return "\(path): not a loadable shared object: \(reason)"
    case .missingSymbol(let path, let symbol):
      return "\(path): entry symbol '\(symbol)' is missing (is it exported with RLAX_EXPORT and built with -fvisibility=hidden?)"
    case .abiMismatch(let path, let what, let plugin, let host):
      return "\(path): \(what) is built for rlax ABI major \(plugin), this host speaks major \(host)"
    case .wrongKind(let path, let name, let expected, let found):
      return "\(path): plugin '\(name)' is not a \(expected) plugin (it provides: \(found))"
    case .refusedHost(let path, let log):
      let why = log.isEmpty ? "it gave no reason" : log.joined(separator: "; ")
      return "\(path): the plugin refused this host (its get-api entry returned NULL): \(why)"
    case .tableTooSmall(let path, let table, let found, let required):
      return "\(path): \(table) has struct_size \(found), this host requires at least \(required)"
    case .missingFunction(let path, let function):
      return "\(path): required function '\(function)' is NULL in the table"
    case .badManifest(let path, let reason):
      return "\(path): bad manifest: \(reason)"
    case .failed(let plugin, let operation, let code, let message):
      return "\(plugin): \(operation) failed: \(code): \(message)"
    case .unsupported(let plugin, let operation):
      return "\(plugin): \(operation) is not supported by this plugin"
    case .invalidCall(let plugin, let operation, let reason):
      return "\(plugin): \(operation): \(reason)"
    case .badOutput(let plugin, let operation, let reason):
      return "plugin '\(plugin)': \(operation) returned bad output: \(reason)"
    case .unloadable(let path, let reason):
      return "\(path): \(reason)"
    case .notFoundSkippingBroken(let name, let searched, let available, let broken):
      let base = PluginError.notFound(name: name, searched: searched, available: available).description
      return base + "; skipped \(broken.count) broken: " + broken.joined(separator: "; ")
    }
  }

  /// The plugin's error code, for errors the plugin returned.
  public var code: PluginErrorCode? {
    if case .failed(_, _, let code, _) = self { return code }
    return nil
  }
}
