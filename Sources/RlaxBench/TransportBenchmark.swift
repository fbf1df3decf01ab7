import Foundation
import RlaxPlugins
import RlaxTransport

/// `rlax bench transport`: bytes/s of a version pushed to and pulled from a parameter server
/// on loopback (gRPC, chunked and checksummed), beside the same store's publish and fetch in
/// one process, measured in the same run.
public struct TransportBenchmark {
  public struct Row: Codable, Sendable {
    public var parameters: Int
    public var tensors: Int
    public var megabytes: Double
    public var pushMBps: Double
    public var pullMBps: Double
    public var inProcessPublishMBps: Double
    public var inProcessFetchMBps: Double
  }

  public struct Report: Codable, Sendable {
    public var rows: [Row]
    public var text: String {
      (["rlax bench transport: a version pushed and pulled through `rlax serve ps`'s service on 127.0.0.1 (gRPC over HTTP/2, 1 MiB chunks, CRC-32C),",
        "beside the memory store's publish and fetch in one process; medians of the rounds",
        zip(["parameters", "tensors", "MB", "push MB/s", "pull MB/s", "in-proc pub MB/s", "in-proc fetch MB/s"], [12, 8, 10, 12, 12, 16, 18])
          .map { String(repeating: " ", count: max($1 - $0.count, 0)) + $0 }.joined(separator: " ")]
        + rows.map { r in
          String(format: "%12d %8d %10.1f %12.1f %12.1f %16.1f %18.1f", r.parameters, r.tensors, r.megabytes, r.pushMBps, r.pullMBps,
                 r.inProcessPublishMBps, r.inProcessFetchMBps)
        }).joined(separator: "\n")
    }
  }

  let store: PluginLibrary
  /// (parameters, tensors) per row: the version is `tensors` tensors sharing `parameters` floats.
  let sizes: [(Int, Int)]
  let rounds: Int

  public init(store: PluginLibrary, sizes: [(Int, Int)], rounds: Int) {
    self.store = store
    self.sizes = sizes
    self.rounds = rounds
  }

  public func run() throws -> Report {
    let token = "bench-" + UUID().uuidString
    var rows: [Row] = []
    for (parameters, count) in sizes {
      let per = max(parameters / count, 1)
      let tensors = (0..<count).map { i in HostTensor(name: "w\(i)", shape: [per], floats: [Float](repeating: Float(i), count: per)) }
      let bytes = Double(tensors.reduce(0) { $0 + $1.bytes.count })
      let local = try WeightStore(library: store, options: PluginOptions([("keep", "2")]))
      let server = RoleServer(services: [ParameterServerService(store: local, log: { _ in })], host: "127.0.0.1", port: 0, token: token)
      let port = try server.startInBackground()
      defer { server.stop() }
      let remote = try RemoteWeightStore(host: "127.0.0.1", port: port, token: token)
      let direct = try WeightStore(library: store, options: PluginOptions([("keep", "2")]))
      var push: [Double] = [], pull: [Double] = [], publish: [Double] = [], fetch: [Double] = []
      for round in 1...rounds {
        let version = UInt64(round)
        push.append(try seconds { try remote.publish(version: version, tensors: tensors) })
        // A fresh client each round, so the pull is not answered from the client's cache.
        let reader = try RemoteWeightStore(host: "127.0.0.1", port: port, token: token)
        pull.append(try seconds { _ = try reader.fetch(version: version) })
        publish.append(try seconds { try direct.publish(version: version, tensors: tensors) })
        fetch.append(try seconds { _ = try direct.fetch(version: version) })
      }
      func rate(_ s: [Double]) -> Double { bytes / 1e6 / s.sorted()[s.count / 2] }
      rows.append(Row(parameters: per * count, tensors: count, megabytes: bytes / 1e6, pushMBps: rate(push), pullMBps: rate(pull),
                      inProcessPublishMBps: rate(publish), inProcessFetchMBps: rate(fetch)))
    }
    return Report(rows: rows)
  }

  func seconds(_ body: () throws -> Void) throws -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
  }
}
