import CRlax
import Foundation

/// Receives the lines a plugin logs through the host services table. It keeps the recent
/// ones (the loader quotes them when a plugin refuses the host) and echoes warnings and
/// errors to standard error.
final class PluginLog: @unchecked Sendable {
  private let lock = NSLock()
  private var recent: [String] = []
  let echoLevel: Int32
  var pluginPath: String
  /// Set while the conformance suite provokes messages on purpose.
  var muted = false

  init(pluginPath: String) {
    self.pluginPath = pluginPath
    let env = ProcessInfo.processInfo.environment["RLAX_PLUGIN_LOG"]
    echoLevel = env == "debug" ? 0 : env == "info" ? 1 : 2
  }

  func append(level: Int32, message: String) {
    lock.lock()
    recent.append(message)
    if recent.count > 32 { recent.removeFirst() }
    let muted = self.muted
    lock.unlock()
    if level >= echoLevel && !muted {
      try? FileHandle.standardError.write(contentsOf: Data("[plugin \((pluginPath as NSString).lastPathComponent)] \(message)\n".utf8))
    }
  }

  var lines: [String] {
    lock.lock(); defer { lock.unlock() }
    return recent
  }
}

/// The services table handed to one plugin library; lives as long as the library.
final class HostServices {
  let log: PluginLog
  let table: UnsafeMutablePointer<rlax_host_services>
  private let context: Unmanaged<PluginLog>

  init(log: PluginLog) {
    self.log = log
    context = Unmanaged.passRetained(log)
    table = .allocate(capacity: 1)
    table.initialize(to: rlax_host_services(
      struct_size: MemoryLayout<rlax_host_services>.size,
      abi_major: UInt32(RLAX_ABI_MAJOR), abi_minor: UInt32(RLAX_ABI_MINOR),
      host_context: context.toOpaque(),
      log: { ctx, level, message in
        guard let ctx, let message else { return }
        Unmanaged<PluginLog>.fromOpaque(ctx).takeUnretainedValue()
          .append(level: Int32(level.rawValue), message: String(cString: message))
      }))
  }

  deinit {
    table.deinitialize(count: 1)
    table.deallocate()
    context.release()
  }
}
