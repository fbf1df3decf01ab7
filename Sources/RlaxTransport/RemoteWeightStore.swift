import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RlaxPlugins

/// A parameter server in another process, as a `VersionedTensorStore`: the runtime's
/// `ParameterServer` publishes to and loads from it exactly as from a weight-store plugin.
/// The runtime's roles are threads that block, so each call here waits for its RPC.
public final class RemoteWeightStore: VersionedTensorStore, @unchecked Sendable {
  public var name: String { connection.name }
  let connection: ServiceConnection
  let service: Rlax_V1_ParameterServer.Client<HTTP2ClientTransport.Posix>
  var metadata: Metadata { connection.metadata }
  /// The last version pulled, so tensorInfos and fetch of one version cost one pull.
  private let cacheLock = NSLock()
  private var cached: (version: UInt64, tensors: [HostTensor])?

  /// - Parameter retrySeconds: how long a call keeps retrying while the server is
  ///   unreachable (restarting, say).
  public init(host: String, port: Int, token: String, retrySeconds: Double = 120) throws {
    connection = try ServiceConnection(role: "parameter server", host: host, port: port, token: token, retrySeconds: retrySeconds)
    service = Rlax_V1_ParameterServer.Client(wrapping: connection.client)
  }

  func call<T: Sendable>(_ operation: String, _ body: @escaping @Sendable () async throws -> T) throws -> T {
    try connection.call(operation, body)
  }

  public func publish(version: UInt64, tensors: [HostTensor]) throws {
    let chunks = TensorChunks.split(tensors)
    let metadata = self.metadata, service = self.service
    do {
      try push(version, chunks, metadata, service)
    } catch TransportError.call(_, _, "failedPrecondition", _) where (try? latest()) ?? 0 >= version {
      // A retried push whose first attempt was published before the connection broke: the
      // server holds this version already (the same bytes: runs are deterministic).
    }
  }

  func push(_ version: UInt64, _ chunks: [(headers: [Rlax_V1_TensorHeader], data: Data, last: Bool, crc32c: UInt32)],
            _ metadata: Metadata, _ service: Rlax_V1_ParameterServer.Client<HTTP2ClientTransport.Posix>) throws {
    _ = try call("push version \(version)") {
      try await service.push(metadata: metadata, requestProducer: { writer in
        for c in chunks {
          try await writer.write(.with {
            $0.version = version
            $0.tensors = c.headers
            $0.data = c.data
            $0.last = c.last
            $0.crc32C = c.crc32c
          })
        }
      })
    }
  }

  public func latest() throws -> UInt64 {
    let metadata = self.metadata, service = self.service
    return try call("latest") { try await service.latest(Rlax_V1_LatestRequest(), metadata: metadata).version }
  }

  public func tensorInfos(version: UInt64) throws -> [TensorInfo] {
    try pulled(version).map { TensorInfo(name: $0.name, dtype: $0.dtype, shape: $0.shape, nbytes: $0.bytes.count) }
  }

  public func fetch(version: UInt64, names: [String]?) throws -> [HostTensor] {
    let tensors = try pulled(version)
    guard let names else { return tensors }
    let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    return try names.map { n in
      guard let t = byName[n] else { throw TransportError.call(server: name, operation: "fetch version \(version)", code: "not found", message: "no tensor '\(n)'") }
      return t
    }
  }

  public func fetch(version: UInt64, into targets: [(name: String, destination: UnsafeMutableRawBufferPointer)]) throws {
    let tensors = try fetch(version: version, names: targets.map(\.name))
    for (t, target) in zip(tensors, targets) {
      guard t.bytes.count == target.destination.count else {
        throw TransportError.call(server: name, operation: "fetch version \(version)", code: "size", message:
          "tensor '\(t.name)' is \(t.bytes.count) bytes, the destination \(target.destination.count)")
      }
      t.bytes.withUnsafeBytes { target.destination.copyMemory(from: $0) }
    }
  }

  public func waitNewer(than after: UInt64, timeoutMs: Int) throws -> UInt64? {
    let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
    while true {
      let v = try latest()
      if v > after { return v }
      if Date() >= deadline { return nil }
      usleep(5000)
    }
  }

  /// Pulls `version` whole (waiting up to a minute for it), checking sizes and checksum.
  func pulled(_ version: UInt64) throws -> [HostTensor] {
    cacheLock.lock()
    if let cached, cached.version == version { cacheLock.unlock(); return cached.tensors }
    cacheLock.unlock()
    let metadata = self.metadata, service = self.service
    let request = Rlax_V1_PullRequest.with { $0.version = version; $0.waitMs = 60_000 }
    let tensors = try call("pull version \(version)") {
      try await service.pull(request, metadata: metadata) { response in
        var assembler: TensorChunks.Assembler?
        for try await chunk in response.messages {
          if assembler == nil { assembler = try TensorChunks.Assembler(headers: chunk.tensors, limit: .max) }
          try assembler!.append(chunk.data)
          if chunk.last { return try assembler!.finish(checksum: chunk.crc32C) }
        }
        throw TransportError.badMessage("the stream ended before its last chunk")
      }
    }
    cacheLock.lock()
    cached = (version, tensors)
    cacheLock.unlock()
    return tensors
  }
}
