import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2

/// A client's connection to one of a run's role processes (parameter server, controller),
/// for callers that are threads and block: each call waits for its RPC. Calls carry the run's
/// token, and retry with backoff while the server is unreachable (not started yet,
/// restarting) for up to `retrySeconds`.
public final class ServiceConnection: @unchecked Sendable {
  /// The role and address, as errors name it: "controller 127.0.0.1:4000".
  public let name: String
  public let client: GRPCClient<HTTP2ClientTransport.Posix>
  public let metadata: Metadata
  let retrySeconds: Double
  let connections: Task<Void, Never>

  public init(role: String, host: String, port: Int, token: String, retrySeconds: Double) throws {
    name = "\(role) \(host):\(port)"
    self.retrySeconds = retrySeconds
    client = GRPCClient(transport: try .http2NIOPosix(target: .ipv4(address: host, port: port), transportSecurity: .plaintext, config: .defaults {
      // Weights are large: HTTP/2's default 64 KiB window holds a push to a few dozen MB/s.
      $0.http2.targetWindowSize = TensorChunks.windowBytes
      $0.http2.maxFrameSize = TensorChunks.frameBytes
    }))
    metadata = AccessToken.metadata(token)
    let client = self.client
    connections = Task { try? await client.runConnections() }
  }

  deinit { client.beginGracefulShutdown() }

  /// Runs one RPC to completion, naming the server and the operation in any error.
  public func call<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    let deadline = Date().addingTimeInterval(retrySeconds)
    var pause = 0.05
    var outcome = Blocking.result(body)
    while case .failure(let error as RPCError) = outcome, error.code == .unavailable, Date() < deadline {
      usleep(UInt32(pause * 1e6))
      pause = min(pause * 2, 1)
      outcome = Blocking.result(body)
    }
    switch outcome {
    case .success(let value): return value
    case .failure(let error as RPCError):
      throw TransportError.call(server: name, operation: operation, code: "\(error.code)", message: error.message)
    case .failure(let error as TransportError):
      throw TransportError.call(server: name, operation: operation, code: "bad message", message: "\(error)")
    case .failure(let error): throw error
    }
  }
}

/// Runs async work to completion from a thread that may block (the runtime's roles are
/// threads, never tasks of the cooperative pool, so waiting here cannot starve it).
public enum Blocking {
  public static func result<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) -> Result<T, Error> {
    let box = ResultBox<T>(), done = DispatchSemaphore(value: 0)
    Task {
      do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
      done.signal()
    }
    done.wait()
    return box.result!
  }

  public static func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T { try result(body).get() }
}

/// The outcome of an async call, handed to the thread that waits for it.
final class ResultBox<T>: @unchecked Sendable { var result: Result<T, Error>? }
