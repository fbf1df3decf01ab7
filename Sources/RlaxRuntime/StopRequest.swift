import Foundation

/// A request to stop a run cleanly, made from a signal handler (the command line's SIGINT and
/// SIGTERM) and read by the trainer between steps: it finishes the current step, writes a
/// checkpoint and returns.
public final class StopRequest: @unchecked Sendable {
  private let lock = NSLock()
  private var received: Int32?

  public init() {}

  /// Records `signal`; returns false when a stop was already requested (the caller then exits
  /// at once).
  @discardableResult
  public func request(_ signal: Int32) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    guard received == nil else { return false }
    received = signal
    return true
  }

  /// The signal that asked for the stop, or nil.
  public var signal: Int32? {
    lock.lock()
    defer { lock.unlock() }
    return received
  }
}
