import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// Serves one role's gRPC services (the parameter server's, the controller's) on host:port
/// (port 0: any free port) until stopped, refusing every call without the run's token.
public final class RoleServer: Sendable {
  let server: GRPCServer<HTTP2ServerTransport.Posix>

  /// - Parameter maxRequestBytes: the largest request message accepted; a larger one fails
  ///   RESOURCE_EXHAUSTED before any handler sees it.
  public init(services: [any RegistrableRPCService], host: String, port: Int, token: String, maxRequestBytes: Int = 4 << 20) {
    server = GRPCServer(
      transport: .http2NIOPosix(address: .ipv4(host: host, port: port), transportSecurity: .plaintext, config: .defaults {
        // Weights are large: HTTP/2's default 64 KiB window holds a push to a few dozen MB/s.
        $0.http2.targetWindowSize = TensorChunks.windowBytes
        $0.http2.maxFrameSize = TensorChunks.frameBytes
        $0.rpc.maxRequestPayloadSize = maxRequestBytes
      }),
      services: services, interceptors: [TokenCheck(token: token)])
  }

  /// Runs the server; returns when it stops.
  public func serve() async throws { try await server.serve() }

  /// Starts serving on a background task (for embedding: benchmarks, tests) and returns the
  /// bound port once listening; `stop()` ends it.
  public func startInBackground() throws -> Int {
    let server = self
    Task { try? await server.serve() }
    return try Blocking.run { try await server.port() }
  }

  /// The bound port, once listening.
  public func port() async throws -> Int {
    guard let address = try await server.listeningAddress?.ipv4 else { throw TransportError.badMessage("the server is not listening on IPv4") }
    return address.port
  }

  public func stop() { server.beginGracefulShutdown() }
}
