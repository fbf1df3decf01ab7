import Foundation

/// Renews a worker's lease every few seconds while it generates, on a thread of its own, so
/// that a lease expires only when its worker stopped (killed, stopped, cut off), never
/// because one group took long. A failed renewal is left to the report to discover: a late
/// result is dropped by the controller.
final class LeaseKeeper: @unchecked Sendable {
  private let stopped = DispatchSemaphore(value: 0)
  private let exited = DispatchSemaphore(value: 0)

  init(lease: UInt64, source: any WorkSource, every seconds: Double) {
    let thread = Thread { [stopped, exited] in
      while stopped.wait(timeout: .now() + seconds) == .timedOut {
        guard (try? source.renew(lease: lease)) != false else { break }
      }
      exited.signal()
    }
    thread.name = "lease-keeper"
    thread.start()
  }

  func stop() {
    stopped.signal()
    exited.wait()
  }
}
