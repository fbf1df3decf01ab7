import ArgumentParser
import Dispatch
import Foundation
import RlaxModel
import RlaxSafeTensors
import RlaxPlugins
import RlaxTransport

/// `rlax serve ps`: one of RLAX's roles as its own process.
struct ServeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "serve", abstract: "Run one role of a run as its own process.",
    subcommands: [ServeParameterServer.self])
}

/// The parameter server: versions pushed by the trainer, pulled by rollout workers, kept in a
/// weight-store plugin. `rlax --parameter-server HOST:PORT --token-file F` trains against it.
struct ServeParameterServer: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "ps", abstract: "Serve the parameter server over gRPC (Protos/rlax/v1/parameter_server.proto).")

  @Option(help: "Address to listen on, HOST:PORT (port 0: any free port). Loopback unless you choose otherwise.")
  var listen = "127.0.0.1:0"
  @Option(help: "The shared token every call must carry; the file is created (mode 0600) with a random token if missing.")
  var tokenFile: String
  @Option(help: "Write the port listened on to this file once listening (for scripts and tests).") var portFile: String?
  @Option(help: "Weight-store plugin keeping the versions: memory, file, or a path.") var store = "memory"
  @Option(name: .customLong("store-opt"), help: "Weight-store option key=value (repeatable), e.g. keep=4.") var storeOptions: [String] = []

  func run() throws {
    let (host, port) = try Self.parse(listen)
    let token = try AccessToken.load(tokenFile, create: true)
    let weights = try WeightStore(library: try PluginLocator.standard().open(store),
                                  options: try PluginOptions.parse(storeOptions, flag: "--store-opt"))
    let log: @Sendable (String) -> Void = { try? FileHandle.standardError.write(contentsOf: Data("rlax serve ps: \($0)\n".utf8)) }
    let server = ParameterServerProcess(service: ParameterServerService(store: weights, log: log), host: host, port: port, token: token)
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
        log("listening on \(host):\(bound) (\(weights.name) store)")
        if let portFile { try DurableStorage.write(Data("\(bound)\n".utf8), to: URL(fileURLWithPath: portFile)) }
      } catch {
        outcome.error = error
        server.stop()
      }
    }
    stopped.wait()
    if let error = outcome.error { throw error }
  }

  static func parse(_ address: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (0...65535).contains(port) else {
      throw ValidationError("--listen takes HOST:PORT with a port in 0...65535, got '\(address)'")
    }
    return (String(address[..<colon]), port)
  }
}
