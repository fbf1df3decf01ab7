import Foundation
import GRPCCore
import RlaxTransport
import SwiftProtobuf

/// The controller's RPCs (Protos/rlax/v1/controller.proto) over a ``ControllerRole``. Waiting
/// calls poll the ledger rather than block in it, so that they hold no thread of the
/// server's pool; a bad request is an error status and a log line, never a crash.
public struct ControllerService: Rlax_V1_Controller.SimpleServiceProtocol {
  let role: ControllerRole
  /// The largest Begin or Report accepted, in bytes (the transport's own limit, set higher,
  /// only resets the stream; this one answers RESOURCE_EXHAUSTED and logs).
  let maxMessageBytes: Int
  let log: @Sendable (String) -> Void
  /// How often a waiting call looks again.
  static let poll = Duration.milliseconds(2)

  public init(role: ControllerRole, maxMessageBytes: Int = 16 << 20, log: @escaping @Sendable (String) -> Void) {
    self.role = role
    self.maxMessageBytes = maxMessageBytes
    self.log = log
  }

  /// The limit on the messages that carry data of any size.
  func checkSize(_ call: String, _ context: ServerContext, _ bytes: Int) throws {
    guard bytes <= maxMessageBytes else {
      throw refuse(call, context, RPCError(code: .resourceExhausted, message: "the message is \(bytes) bytes, over the \(maxMessageBytes)-byte limit"))
    }
  }

  public func begin(request: Rlax_V1_BeginRequest, context: ServerContext) async throws -> Rlax_V1_BeginReply {
    try checkSize("begin", context, request.specJson.utf8.count)
    return try handle("begin", context) {
      let resumed = try role.begin(try RunSpec.parse(request.specJson))
      log(resumed ? "the trainer resumed the run" : "began a run")
      return .with { $0.resumed = resumed }
    }
  }

  public func issue(request: Rlax_V1_IssueRequest, context: ServerContext) async throws -> Rlax_V1_IssueReply {
    try handle("issue", context) {
      let (step, range) = try items(request.step, request.from, request.to)
      try role.current().ledger.issue(step: step, indices: range)
      return .init()
    }
  }

  public func collect(request: Rlax_V1_CollectRequest, context: ServerContext) async throws -> Rlax_V1_CollectReply {
    let deadline = ContinuousClock.now + .milliseconds(Int(min(request.waitMs, 60_000)))
    while true {
      let groups = try handle("collect", context) { () -> [GroupRollout]? in
        let (step, range) = try items(request.step, request.from, request.to)
        return try role.current().ledger.tryCollect(step: step, indices: range)
      }
      if let groups { return .with { $0.ready = true; $0.rollouts = groups.map(\.message) } }
      guard ContinuousClock.now < deadline else { return .with { $0.ready = false } }
      try await Task.sleep(for: Self.poll)
    }
  }

  public func release(request: Rlax_V1_ReleaseRequest, context: ServerContext) async throws -> Rlax_V1_ReleaseReply {
    try handle("release", context) {
      guard request.beforeStep < 1 << 40 else { throw LedgerError.badItem("step \(request.beforeStep) is out of range") }
      try role.current().ledger.release(before: Int(request.beforeStep))
      return .init()
    }
  }

  public func finish(request: Rlax_V1_FinishRequest, context: ServerContext) async throws -> Rlax_V1_CountersReply {
    try handle("finish", context) {
      log("the trainer finished the run")
      return try role.current().ledger.finish().message
    }
  }

  public func counters(request: Rlax_V1_CountersRequest, context: ServerContext) async throws -> Rlax_V1_CountersReply {
    try handle("counters", context) { try role.current().ledger.currentCounters.message }
  }

  public func register(request: Rlax_V1_RegisterRequest, context: ServerContext) async throws -> Rlax_V1_RegisterReply {
    guard !request.worker.isEmpty, request.worker.utf8.count <= 256 else {
      throw refuse("register", context, RPCError(code: .invalidArgument, message: "a worker name is 1 to 256 bytes"))
    }
    let run = try await role.waitForRun(ms: request.waitMs)
    let id = run.ledger.register(name: request.worker)
    log("\(request.worker) registered (\(context.remotePeer))")
    return .with {
      $0.incarnation = id.incarnation
      $0.specJson = (try? run.spec.json()) ?? ""
      $0.leaseSeconds = role.leaseSeconds
    }
  }

  public func lease(request: Rlax_V1_LeaseRequest, context: ServerContext) async throws -> Rlax_V1_LeaseReply {
    let deadline = ContinuousClock.now + .milliseconds(Int(min(request.waitMs, 60_000)))
    let worker = WorkerID(name: request.worker, incarnation: request.incarnation)
    while true {
      let grant = try handle("lease", context) { try role.current().ledger.tryLease(worker: worker) }
      switch grant {
      case .item(let id, let step, let index):
        let version = try role.current().ledger.plan.version(step: step)
        return .with {
          $0.kind = .item
          $0.lease = id
          $0.step = UInt64(step)
          $0.index = UInt32(index)
          $0.version = UInt64(version)
        }
      case .finished: return .with { $0.kind = .finished }
      case .idle:
        guard ContinuousClock.now < deadline else { return .with { $0.kind = .idle } }
        try await Task.sleep(for: Self.poll)
      }
    }
  }

  public func renew(request: Rlax_V1_RenewRequest, context: ServerContext) async throws -> Rlax_V1_RenewReply {
    try handle("renew", context) {
      let held = try role.current().ledger.renew(lease: request.lease)
      return .with { $0.held = held }
    }
  }

  public func report(request: Rlax_V1_ReportRequest, context: ServerContext) async throws -> Rlax_V1_ReportReply {
    try checkSize("report", context, (try? request.serializedBytes() as [UInt8])?.count ?? Int.max)
    return try handle("report", context) {
      let ledger = try role.current().ledger
      let rollout = try GroupRollout(message: request.rollout, plan: ledger.plan)
      let outcome = try ledger.report(lease: request.lease, rollout: rollout)
      if outcome != .accepted {
        log("dropped the \(outcome.rawValue) result of step \(rollout.item.step) prompt \(rollout.item.index) from \(rollout.worker) (lease \(request.lease))")
      }
      return .with { $0.outcome = outcome == .accepted ? .accepted : outcome == .duplicate ? .duplicate : .late }
    }
  }

  public func fail(request: Rlax_V1_FailRequest, context: ServerContext) async throws -> Rlax_V1_FailReply {
    try handle("fail", context) {
      log("\(request.worker) failed the run: \(request.message)")
      try role.current().ledger.fail(worker: WorkerID(name: request.worker, incarnation: 0), error: WorkerFailure(message: request.message))
      return .init()
    }
  }

  /// Items (step, from..<to) of a request, range-checked before any conversion to Int.
  func items(_ step: UInt64, _ from: UInt32, _ to: UInt32) throws -> (Int, Range<Int>) {
    guard step < 1 << 40, from <= to else { throw LedgerError.badItem("items step \(step) prompts \(from)..<\(to) are not a range of the plan") }
    return (Int(step), Int(from)..<Int(to))
  }

  /// Runs a handler, turning the ledger's errors into statuses (and a log line for bad input).
  func handle<T>(_ call: String, _ context: ServerContext, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as RPCError {
      throw refuse(call, context, error)
    } catch let error as LedgerError {
      switch error {
      case .badItem(let reason): throw refuse(call, context, RPCError(code: .invalidArgument, message: reason))
      case .unknownLease: throw refuse(call, context, RPCError(code: .notFound, message: "\(error)"))
      case .superseded: throw refuse(call, context, RPCError(code: .failedPrecondition, message: "\(error)"))
      case .journal: throw refuse(call, context, RPCError(code: .internalError, message: "\(error)"))
      }
    } catch let error as WorkerFailure {
      throw RPCError(code: .aborted, message: error.message)
    } catch {
      throw refuse(call, context, RPCError(code: .internalError, message: "\(error)"))
    }
  }

  func refuse(_ call: String, _ context: ServerContext, _ error: RPCError) -> RPCError {
    log("refused \(call) from \(context.remotePeer): \(error.code): \(error.message)")
    return error
  }
}

/// A worker's error that ended the run, as the controller was told it.
public struct WorkerFailure: Error, CustomStringConvertible {
  public var message: String
  public var description: String { message }
}
