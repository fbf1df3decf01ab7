import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RlaxPlugins
import RlaxTestSupport
import XCTest

@testable import RlaxTransport

/// The parameter server over gRPC on loopback: versions round-trip exactly (in chunks), only
/// complete and checksummed versions are published, calls need the token, and malformed
/// messages get an error status while the server goes on serving.
final class ParameterServerTransportTests: XCTestCase {
  let token = "test-token-0123456789"
  var server: RoleServer!
  var store: WeightStore!
  var port = 0
  var logged: [String] { logBox.lines }
  let logBox = LogBox()

  final class LogBox: @unchecked Sendable {
    let lock = NSLock()
    var lines: [String] = []
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
  }

  override func setUpWithError() throws {
    store = try WeightStore(library: TestSupport.bundled("memory"), options: PluginOptions([("keep", "4")]))
    let box = logBox
    server = RoleServer(services: [ParameterServerService(store: store, maxVersionBytes: 64 << 20, log: { box.add($0) })],
                        host: "127.0.0.1", port: 0, token: token)
    port = try server.startInBackground()
  }

  override func tearDown() { server.stop() }

  func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T { try Blocking.run(body) }

  func tensors(seed: UInt64, bigElements: Int = 5) -> [HostTensor] {
    var rng = seed
    func next() -> Float { rng = rng &* 6364136223846793005 &+ 1442695040888963407; return Float(Int64(bitPattern: rng >> 11) % 1000) / 7 }
    return [HostTensor(name: "embed", shape: [3, 4], floats: (0..<12).map { _ in next() }),
            HostTensor(name: "big", shape: [bigElements], floats: (0..<bigElements).map { _ in next() }),
            HostTensor(name: "scalar", shape: [], floats: [next()])]
  }

  func remote(token: String? = nil) throws -> RemoteWeightStore {
    try RemoteWeightStore(host: "127.0.0.1", port: port, token: token ?? self.token)
  }

  func testVersionsRoundTripExactlyInChunksAndWaitForTheNext() throws {
    let client = try remote()
    XCTAssertEqual(try client.latest(), 0)
    // 3 MiB of floats: three chunks and a bit.
    let v1 = tensors(seed: 1, bigElements: 3 << 18 + 7)
    try client.publish(version: 1, tensors: v1)
    XCTAssertEqual(try client.latest(), 1)
    XCTAssertEqual(try client.fetch(version: 1), v1)
    XCTAssertEqual(try store.fetch(version: 1), v1, "the server's own store holds the same bytes")
    XCTAssertEqual(try client.tensorInfos(version: 1).map(\.shape), [[3, 4], [3 << 18 + 7], []])
    XCTAssertNil(try client.waitNewer(than: 1, timeoutMs: 50))
    let v2 = tensors(seed: 2)
    let other = try remote()
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { try? other.publish(version: 2, tensors: v2) }
    XCTAssertEqual(try client.waitNewer(than: 1, timeoutMs: 10_000), 2)
    XCTAssertEqual(try client.fetch(version: 2, names: ["scalar"]), [v2[2]])
  }

  func testCallsWithoutTheTokenAreUnauthenticated() throws {
    for wrong in ["", "test-token-0123456780"] {
      XCTAssertThrowsError(try remote(token: wrong).latest()) { error in
        XCTAssertTrue("\(error)".contains("unauthenticated") && "\(error)".contains("missing or wrong token"), "\(error)")
      }
      XCTAssertThrowsError(try remote(token: wrong).publish(version: 1, tensors: tensors(seed: 1)))
    }
    XCTAssertEqual(try store.latest(), 0, "nothing was published")
  }

  /// Pushes raw chunks through the generated client (what a broken or hostile peer sends).
  func push(_ chunks: [Rlax_V1_PushChunk]) throws -> String? {
    let token = self.token, port = self.port
    return try blocking {
      try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
        do {
          _ = try await Rlax_V1_ParameterServer.Client(wrapping: client).push(metadata: AccessToken.metadata(token)) { writer in
            for c in chunks { try await writer.write(c) }
          }
          return nil
        } catch let error as RPCError { return "\(error.code): \(error.message)" }
      }
    }
  }

  func chunks(_ t: [HostTensor], version: UInt64 = 1) -> [Rlax_V1_PushChunk] {
    TensorChunks.split(t).map { c in .with { $0.version = version; $0.tensors = c.headers; $0.data = c.data; $0.last = c.last; $0.crc32C = c.crc32c } }
  }

  func testOnlyCompleteChecksummedVersionsArePublished() throws {
    let good = chunks(tensors(seed: 3, bigElements: 1 << 19))
    XCTAssertGreaterThan(good.count, 1)
    // A stream that ends before its last chunk (a cut connection looks the same to the server).
    XCTAssertEqual(try push(Array(good.dropLast())), "invalidArgument: push of version 1 ended before its last chunk: nothing published")
    // A wrong checksum.
    var corrupt = good
    corrupt[corrupt.count - 1].crc32C ^= 1
    XCTAssertTrue(try push(corrupt)?.contains("checksum mismatch") ?? false)
    // More bytes than the headers announce, and a header whose size contradicts its shape.
    var long = good
    long[0].data.append(0)
    XCTAssertTrue(try push(long)?.contains("more data than the headers announce") ?? false)
    var lying = good
    lying[0].tensors[0].nbytes += 4
    XCTAssertTrue(try push(lying)?.contains("tensor 'embed': 52 bytes, but f32 [3, 4] is 48 bytes") ?? false)
    var negative = good
    negative[0].tensors[1].shape = [-3]
    XCTAssertTrue(try push(negative)?.contains("rank at most 8, dims >= 0") ?? false)
    var huge = good
    huge[0].tensors[1].shape = [1 << 40, 1 << 40]
    XCTAssertTrue(try push(huge)?.contains("overflows") ?? false)
    var tooBig = good
    tooBig[0].tensors[1].shape = [1 << 26]
    tooBig[0].tensors[1].nbytes = 4 << 26
    XCTAssertTrue(try push(tooBig)?.contains("larger than the 67108864-byte limit") ?? false)
    XCTAssertEqual(try store.latest(), 0, "none of these published anything")
    XCTAssertGreaterThanOrEqual(logged.count, 7, "each refusal is a log line: \(logged)")
    XCTAssertNil(try push(good))
    XCTAssertEqual(try store.latest(), 1, "the server still serves")
  }

  func testAPullOfAVersionNotPublishedWaitsThenFailsWithItsDeadline() throws {
    let token = self.token, port = self.port
    let message = try blocking { () -> String in
      try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) { client in
        do {
          try await Rlax_V1_ParameterServer.Client(wrapping: client).pull(.with { $0.version = 5; $0.waitMs = 100 },
                                                                           metadata: AccessToken.metadata(token)) { response in
            for try await _ in response.messages {}
          }
          return "no error"
        } catch let error as RPCError { return "\(error.code): \(error.message)" }
      }
    }
    XCTAssertEqual(message, "deadlineExceeded: version 5 was not published within 100 ms")
  }

  /// Random messages: every one is answered with a status, and the server still serves after.
  func testRandomPushMessagesNeverCrashTheServer() throws {
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<60 {
      let count = Int.random(in: 1...3, using: &rng)
      let messages: [Rlax_V1_PushChunk] = (0..<count).map { _ in
        let random = Data((0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) })
        // Bytes that decode as a PushChunk are sent as they decode; the rest as random fields.
        if let decoded = try? Rlax_V1_PushChunk(serializedBytes: random) { return decoded }
        return .with {
          $0.version = UInt64.random(in: 0...3, using: &rng)
          $0.tensors = (0..<Int.random(in: 0...2, using: &rng)).map { _ in .with {
            $0.name = "t\(Int.random(in: 0...2, using: &rng))"
            $0.dtype = UInt32.random(in: 0...9, using: &rng)
            $0.shape = (0..<Int.random(in: 0...9, using: &rng)).map { _ in Int64.random(in: -2...40, using: &rng) }
            $0.nbytes = UInt64.random(in: 0...200, using: &rng)
          } }
          $0.data = random
          $0.last = Bool.random(using: &rng)
          $0.crc32C = UInt32.random(in: 0...UInt32.max, using: &rng)
        }
      }
      _ = try push(messages)
    }
    let client = try remote()
    let next = try client.latest() + 1
    try client.publish(version: next, tensors: tensors(seed: 9))
    XCTAssertEqual(try client.fetch(version: next), tensors(seed: 9))
  }
}
