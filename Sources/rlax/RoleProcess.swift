import ArgumentParser
import Dispatch
import Foundation
import RlaxSafeTensors
import RlaxTransport

/// HOST:PORT as the role flags take it.
enum Address {
  static func parse(_ address: String, flag: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port),
          colon > address.startIndex else {
      throw ValidationError("\(flag) takes HOST:PORT with a port in 0...65535, got '\(address)'")
    }
    return (String(address[..<colon]), port)
  }
}

/// Where a serving role listens and how it is reached: `rlax serve ps` and `rlax serve controller`.
struct ListenOptions: ParsableArguments {
  @Option(help: "Address to listen on, HOST:PORT (port 0: any free port). Loopback unless you choose otherwise.")
  var listen = "127.0.0.1:0"
  @Option(help: "The shared token every call must carry; the file is created (mode 0600) with a random token if missing.")
  var tokenFile: String
  @Option(help: "Write the port listened on to this file once listening (for scripts and tests).") var portFile: String?

  func address() throws -> (host: String, port: Int) { try Address.parse(listen, flag: "--listen") }
  func token() throws -> String { try AccessToken.load(tokenFile, create: true) }
}

/// What every `rlax serve` role process does around its work.
enum RoleProcess {
  /// A log line on stderr, prefixed with the role.
  static func logger(_ role: String) -> @Sendable (String) -> Void {
    { try? FileHandle.standardError.write(contentsOf: Data("rlax serve \(role): \($0)\n".utf8)) }
  }

  /// Serves `server` until SIGINT or SIGTERM, writing the bound port to `portFile` once
  /// listening.
  static func serve(_ server: RoleServer, host: String, portFile: String?, log: @escaping @Sendable (String) -> Void,
                    describe: String) throws {
    exitWithParent()
    let stopped = DispatchSemaphore(value: 0)
    final class Outcome: @unchecked Sendable { var error: Error? }
    let outcome = Outcome()
    Task {
      do { try await server.serve() } catch { outcome.error = error }
      stopped.signal()
    }
    let sources = [SIGINT, SIGTERM].map { signo in
      signal(signo, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
      source.setEventHandler { server.stop() }
      source.resume()
      return source
    }
    defer { sources.forEach { $0.cancel() } }
    Task {
      do {
        let bound = try await server.port()
        log("listening on \(host):\(bound) (\(describe))")
        if let portFile { try DurableStorage.write(Data("\(bound)\n".utf8), to: URL(fileURLWithPath: portFile)) }
      } catch {
        outcome.error = error
        server.stop()
      }
    }
    stopped.wait()
    if let error = outcome.error { throw error }
  }

  /// Under `rlax launch` (RLAX_EXIT_WITH_PARENT=1), a role exits when launch is gone, so that
  /// killing launch never leaves roles of a run behind.
  static func exitWithParent() {
    guard ProcessInfo.processInfo.environment["RLAX_EXIT_WITH_PARENT"] == "1" else { return }
    let parent = getppid()
    let thread = Thread {
      while getppid() == parent { sleep(1) }
      _exit(1)
    }
    thread.name = "parent-watch"
    thread.start()
  }
}
