import CRlaxGuard
import Foundation

/// Process-wide protection against plugins that crash or hang, for executables that host
/// plugins (`rlax` installs it first thing in `main`).
///
/// - A crash (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT) on any thread prints one line naming
///   the plugin and the operation in flight on that thread, written with write(2) from the
///   signal handler, and ends the process at once with `_exit(128 + signal)`; no backtracer
///   runs, so nothing can hang after the crash. A crash outside any plugin call is reported as
///   a host crash and re-raised with the default action. `RLAX_CRASH_HANDLER=0` leaves the
///   signals alone (for Swift's own backtraces while debugging the host).
/// - A watchdog thread ends the process with `_exit(124)` and a line naming the plugin and
///   the operation when one plugin call has been in flight for `RLAX_PLUGIN_DEADLINE` seconds
///   (default 600; 0 turns it off). Blocking waits with their own timeout (a weight store's
///   `wait_newer`) are not watched.
public enum PluginWatch {
  /// The deadline when RLAX_PLUGIN_DEADLINE is unset.
  public static let defaultDeadlineSeconds = 600.0
  /// Exit status when the watchdog fires (as timeout(1)).
  public static let watchdogExitStatus: Int32 = 124

  /// Names the calling thread for the OS (15 bytes at most), as crash and watchdog reports show it.
  public static func nameThread(_ name: String) { rlax_guard_name_thread(name) }

  /// The deadline in effect for `environment` (0 = off), or an error line for a bad value.
  public static func deadline(environment: [String: String]) -> (seconds: Double, problem: String?) {
    guard let text = environment["RLAX_PLUGIN_DEADLINE"], !text.isEmpty else { return (defaultDeadlineSeconds, nil) }
    guard let value = Double(text), value.isFinite, value >= 0 else {
      return (defaultDeadlineSeconds, "RLAX_PLUGIN_DEADLINE='\(text)' is not a number of seconds >= 0; using \(Int(defaultDeadlineSeconds)) s")
    }
    return (value, nil)
  }

  /// Installs the crash handlers and starts the watchdog, as the environment says. Child
  /// processes started afterwards inherit SWIFT_BACKTRACE=enable=no (unless it is set), so a
  /// crashing child exits promptly too.
  public static func install(environment: [String: String] = ProcessInfo.processInfo.environment) {
    if environment["RLAX_CRASH_HANDLER"] != "0" {
      _ = rlax_guard_install_crash_handlers()
    }
    let (seconds, problem) = deadline(environment: environment)
    if let problem { try? FileHandle.standardError.write(contentsOf: Data("rlax: warning: \(problem)\n".utf8)) }
    _ = rlax_guard_start_watchdog(seconds, watchdogExitStatus)
    if environment["SWIFT_BACKTRACE"] == nil { setenv("SWIFT_BACKTRACE", "enable=no", 0) }
  }
}
