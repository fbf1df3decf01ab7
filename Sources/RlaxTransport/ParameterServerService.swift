import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RlaxPlugins

/// The parameter server role over gRPC: a weight store (any `VersionedTensorStore`, usually a
/// weight-store plugin) behind Push / Pull / Latest (Protos/rlax/v1/parameter_server.proto).
/// A pushed version reaches the store only once all its bytes arrived and their checksum
/// matched; a malformed message is an error status and a log line, never a crash.
public struct ParameterServerService: Rlax_V1_ParameterServer.SimpleServiceProtocol {
  let store: any VersionedTensorStore
  /// The largest version accepted, in bytes.
  let maxVersionBytes: Int
  let log: @Sendable (String) -> Void

  public init(store: any VersionedTensorStore, maxVersionBytes: Int = 64 << 30, log: @escaping @Sendable (String) -> Void) {
    self.store = store
    self.maxVersionBytes = maxVersionBytes
    self.log = log
  }

  public func push(request: RPCAsyncSequence<Rlax_V1_PushChunk, any Error>, context: ServerContext) async throws -> Rlax_V1_PushReply {
    var assembler: TensorChunks.Assembler?
    var version: UInt64 = 0
    do {
      for try await chunk in request {
        if assembler == nil {
          guard chunk.version >= 1 else { throw TransportError.badMessage("push: version must be >= 1, got \(chunk.version)") }
          version = chunk.version
          assembler = try TensorChunks.Assembler(headers: chunk.tensors, limit: maxVersionBytes)
        } else if !chunk.tensors.isEmpty || chunk.version != 0 && chunk.version != version {
          throw TransportError.badMessage("push of version \(version): only the first chunk may name the version and tensors")
        }
        try assembler!.append(chunk.data)
        if chunk.last {
          let tensors = try assembler!.finish(checksum: chunk.crc32C)
          try store.publish(version: version, tensors: tensors)
          return .with { $0.version = version }
        }
      }
    } catch let error as TransportError {
      log("refused a push from \(context.remotePeer): \(error)")
      throw RPCError(code: .invalidArgument, message: "\(error)")
    } catch let error as PluginError {
      log("push of version \(version) failed in the store: \(error)")
      throw RPCError(code: .failedPrecondition, message: "\(error)")
    }
    // The stream ended (or the connection was cut) before its last chunk: nothing published.
    log("push of version \(version) from \(context.remotePeer) ended before its last chunk: nothing published")
    throw RPCError(code: .invalidArgument, message: "push of version \(version) ended before its last chunk: nothing published")
  }

  public func pull(request: Rlax_V1_PullRequest, response: RPCWriter<Rlax_V1_PullChunk>, context: ServerContext) async throws {
    let deadline = ContinuousClock.now + .milliseconds(Int(request.waitMs))
    // Polled rather than blocking in the store, so that waiting pulls hold no thread.
    while try store.latest() < request.version {
      guard ContinuousClock.now < deadline else {
        throw RPCError(code: .deadlineExceeded, message: "version \(request.version) was not published within \(request.waitMs) ms")
      }
      try await Task.sleep(for: .milliseconds(5))
    }
    let tensors: [HostTensor]
    do { tensors = try store.fetch(version: request.version) } catch {
      throw RPCError(code: .notFound, message: "version \(request.version): \(error)")
    }
    for chunk in TensorChunks.split(tensors) {
      try await response.write(.with {
        $0.tensors = chunk.headers
        $0.data = chunk.data
        $0.last = chunk.last
        $0.crc32C = chunk.crc32c
      })
    }
  }

  public func latest(request: Rlax_V1_LatestRequest, context: ServerContext) async throws -> Rlax_V1_LatestReply {
    do {
      let v = try store.latest()
      return .with { $0.version = v }
    } catch {
      throw RPCError(code: .internalError, message: "\(error)")
    }
  }
}
