import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
@testable import RlaxRuntime
import RlaxTestSupport
import RlaxTraining
import RlaxTransport
import XCTest

/// The controller's RPCs over a real loopback connection: the run a controller serves, the
/// token, and hostile input (random bytes to every method, messages over the size limit,
/// results for leases never granted), none of which may crash it or change its state.
final class ControllerServiceTests: XCTestCase {
  let token = "controller-test-token"
  var server: RoleServer!
  var port = 0
  let logs = Lines()

  final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
  }

  static func tinySpec(seed: UInt64 = 7) throws -> RunSpec {
    var config = try RunConfigLoader.load(file: nil, edits: TestSupport.tinyConfigEdits, replacements: [])
    config.rl.seed = seed
    return RunSpec(config: config, backend: "cpu-blas", backendOptions: [])
  }

  override func setUpWithError() throws {
    let role = try ControllerRole(stateDirectory: try TestSupport.temporaryDirectory("controller-state"), leaseSeconds: 60)
    let logs = self.logs
    server = RoleServer(services: [ControllerService(role: role, maxMessageBytes: 64 << 10, log: { logs.add($0) })], host: "127.0.0.1", port: 0,
                        token: token, maxRequestBytes: 256 << 10)
    port = try server.startInBackground()
  }

  override func tearDown() { server.stop() }

  func client(token: String? = nil, spec: RunSpec? = nil) throws -> RemoteController {
    let spec = try spec ?? Self.tinySpec()
    return try RemoteController(host: "127.0.0.1", port: port, token: token ?? self.token,
                                plan: Controller(config: spec.config.rl, task: try spec.config.task.make()), retrySeconds: 2)
  }

  func testTheFirstBeginFixesTheRunAndAnotherRunIsRefused() throws {
    let c = try client()
    XCTAssertFalse(try c.begin(try Self.tinySpec()))
    var longer = try Self.tinySpec()
    longer.config.rl.steps += 10
    XCTAssertTrue(try c.begin(longer), "a resumed trainer (with more steps) is the same run")
    XCTAssertThrowsError(try c.begin(try Self.tinySpec(seed: 8))) {
      XCTAssertTrue("\($0)".contains("failedPrecondition") && "\($0)".contains("serves another run") && "\($0)".contains("config.rl.seed: 7 -> 8"), "\($0)")
    }
  }

  func testCallsWithoutTheTokenAreUnauthenticated() throws {
    XCTAssertThrowsError(try client(token: "wrong").begin(try Self.tinySpec())) {
      XCTAssertTrue("\($0)".contains("controller 127.0.0.1:\(port)") && "\($0)".contains("unauthenticated"), "\($0)")
    }
  }

  func testResultsForLeasesNeverGrantedAndOversizedMessagesAreRefusedAndLogged() throws {
    let c = try client()
    _ = try c.begin(try Self.tinySpec())
    let plan = try XCTUnwrap(c.plan)
    let item = try plan.workItem(step: 0, index: 0)
    let g = plan.config.groupSize
    let group = GroupRollout(item: item, version: 0, completions: Array(repeating: [5, 6], count: g), samplerLogprobs: Array(repeating: [-1, -2], count: g),
                             texts: [], rewards: Array(repeating: 1, count: g), worker: "w", started: Date(), seconds: 0)
    XCTAssertThrowsError(try c.report(lease: 42, rollout: group)) { XCTAssertTrue("\($0)".contains("notFound") && "\($0)".contains("lease 42 was never granted"), "\($0)") }
    XCTAssertTrue(logs.all.contains { $0.contains("refused report") && $0.contains("lease 42 was never granted") }, "\(logs.all)")
    var huge = group
    huge.completions[0] = [Int32](repeating: 5, count: 100_000)
    XCTAssertThrowsError(try c.report(lease: 1, rollout: huge)) {
      XCTAssertTrue("\($0)".contains("resourceExhausted") && "\($0)".contains("over the 65536-byte limit"), "\($0)")
    }
    XCTAssertTrue(logs.all.contains { $0.contains("refused report") && $0.contains("over the 65536-byte limit") }, "\(logs.all)")
    XCTAssertThrowsError(try c.issue(step: 0, indices: 0..<1000)) { XCTAssertTrue("\($0)".contains("invalidArgument"), "\($0)") }
    XCTAssertEqual(try c.counters(), ControllerCounters(), "nothing was issued, leased or accepted")
  }

  struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
      serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
  }

  /// Random bytes as the request of every method: each call ends with a reply or an error
  /// status, and afterwards the controller still answers and holds nothing it should not.
  func testRandomBytesToEveryMethodNeverCrashTheController() throws {
    let c = try client()
    _ = try c.begin(try Self.tinySpec())
    let methods = ["Begin", "Issue", "Collect", "Release", "Counters", "Register", "Lease", "Renew", "Report", "Fail"]
    var rng = SystemRandomNumberGenerator()
    let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)
    let raw = GRPCClient(transport: transport)
    let running = Task { try? await raw.runConnections() }
    defer {
      raw.beginGracefulShutdown()
      running.cancel()
    }
    var answered = 0, refused = 0
    for method in methods {
      for _ in 0..<40 {
        let bytes = (0..<Int.random(in: 0...96, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var options = CallOptions.defaults
        options.timeout = .milliseconds(100)
        let request = ClientRequest(message: bytes, metadata: ["authorization": "Bearer \(token)"])
        let callOptions = options
        let outcome = Blocking.result {
          try await raw.unary(request: request, descriptor: MethodDescriptor(fullyQualifiedService: "rlax.v1.Controller", method: method),
                              serializer: RawBytes(), deserializer: RawBytes(), options: callOptions) { try $0.message }
        }
        if case .success = outcome { answered += 1 } else { refused += 1 }
      }
    }
    XCTAssertEqual(answered + refused, methods.count * 40)
    XCTAssertGreaterThan(refused, 0, "some random messages are malformed")
    // Still serving, and a worker that shows up now finds the state of a sane run.
    let counters = try c.counters()
    XCTAssertEqual(counters.accepted, 0, "no random message was accepted as a group")
    XCTAssertNoThrow(try c.issue(step: 0, indices: 0..<1))
  }
}
