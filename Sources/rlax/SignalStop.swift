import Dispatch
import Foundation
import RlaxRuntime

/// SIGINT and SIGTERM for a training run: the first asks the run to stop after the current
/// step with a checkpoint; a second exits at once (the last checkpoint on disk is intact,
/// since checkpoints are written whole or not at all).
enum SignalStop {
  /// Installs the handlers; keep the returned sources alive for as long as they should work.
  static func install(_ stop: StopRequest) -> [DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signo in
      signal(signo, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
      source.setEventHandler {
        let name = signo == SIGINT ? "SIGINT" : "SIGTERM"
        if stop.request(signo) {
          try? FileHandle.standardError.write(contentsOf: Data("\n\(name): stopping after the current step with a checkpoint (send it again to exit at once)\n".utf8))
        } else {
          try? FileHandle.standardError.write(contentsOf: Data("\n\(name) again: exiting now; the last checkpoint on disk is intact\n".utf8))
          _exit(128 + signo)
        }
      }
      source.resume()
      return source
    }
  }
}
