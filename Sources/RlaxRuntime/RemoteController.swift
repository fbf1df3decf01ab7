import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RlaxTransport

/// A controller in another process (`rlax serve controller`), as the trainer's
/// ``RolloutSource`` and a worker's ``WorkSource``: the roles run the same code against it as
/// against the in-process ledger. Waiting calls are long polls the server answers within a
/// few seconds, so a restarted controller is noticed (and retried) quickly.
public final class RemoteController: RolloutSource, WorkSource, @unchecked Sendable {
  let connection: ServiceConnection
  let service: Rlax_V1_Controller.Client<HTTP2ClientTransport.Posix>
  /// The run's plan: the trainer's own, or the one a worker learns when it registers.
  public private(set) var plan: Controller?
  public private(set) var leaseSeconds = 30.0

  public var name: String { connection.name }

  public init(host: String, port: Int, token: String, plan: Controller?, retrySeconds: Double = 120) throws {
    connection = try ServiceConnection(role: "controller", host: host, port: port, token: token, retrySeconds: retrySeconds)
    service = Rlax_V1_Controller.Client(wrapping: connection.client)
    self.plan = plan
  }

  func call<T: Sendable>(_ operation: String, _ body: @escaping @Sendable (Rlax_V1_Controller.Client<HTTP2ClientTransport.Posix>, Metadata) async throws -> T) throws -> T {
    let service = self.service, metadata = connection.metadata
    return try connection.call(operation) { try await body(service, metadata) }
  }

  // MARK: trainer

  /// Tells the controller which run it serves; true when it held this run already.
  public func begin(_ spec: RunSpec) throws -> Bool {
    let request = Rlax_V1_BeginRequest.with { $0.specJson = (try? spec.json()) ?? "" }
    return try call("begin") { try await $0.begin(request, metadata: $1).resumed }
  }

  public func issue(step: Int, indices: Range<Int>) throws {
    let request = Rlax_V1_IssueRequest.with { $0.step = UInt64(step); $0.from = UInt32(indices.lowerBound); $0.to = UInt32(indices.upperBound) }
    _ = try call("issue step \(step)") { try await $0.issue(request, metadata: $1) }
  }

  public func collect(step: Int, indices: Range<Int>) throws -> [GroupRollout] {
    guard let plan else { throw TransportError.badMessage("collect before the run's plan is known") }
    let request = Rlax_V1_CollectRequest.with {
      $0.step = UInt64(step); $0.from = UInt32(indices.lowerBound); $0.to = UInt32(indices.upperBound); $0.waitMs = 2000
    }
    while true {
      let reply = try call("collect step \(step)") { try await $0.collect(request, metadata: $1) }
      guard reply.ready else { continue }
      let groups = try reply.rollouts.map { try GroupRollout(message: $0, plan: plan) }
      guard groups.map(\.item.index) == Array(indices), groups.allSatisfy({ $0.item.step == step }) else {
        throw TransportError.call(server: name, operation: "collect step \(step)", code: "bad reply", message: "the groups are not items \(indices) of step \(step)")
      }
      return groups
    }
  }

  public func release(before step: Int) throws {
    let request = Rlax_V1_ReleaseRequest.with { $0.beforeStep = UInt64(step) }
    _ = try call("release steps before \(step)") { try await $0.release(request, metadata: $1) }
  }

  public func finish() throws -> ControllerCounters {
    ControllerCounters(message: try call("finish") { try await $0.finish(Rlax_V1_FinishRequest(), metadata: $1) })
  }

  public func counters() throws -> ControllerCounters {
    ControllerCounters(message: try call("counters") { try await $0.counters(Rlax_V1_CountersRequest(), metadata: $1) })
  }

  // MARK: worker

  /// Joins the run as worker `name`, waiting for a trainer to begin one; learns the plan.
  public func register(name: String) throws -> (WorkerID, RunSpec) {
    let request = Rlax_V1_RegisterRequest.with { $0.worker = name; $0.waitMs = 5000 }
    while true {
      let reply: Rlax_V1_RegisterReply
      do {
        reply = try call("register \(name)") { try await $0.register(request, metadata: $1) }
      } catch TransportError.call(_, _, "failedPrecondition", _) {
        continue  // no trainer has begun the run yet
      }
      let spec = try RunSpec.parse(reply.specJson)
      plan = Controller(config: spec.config.rl, task: try spec.config.task.make())
      leaseSeconds = reply.leaseSeconds > 0 ? reply.leaseSeconds : leaseSeconds
      return (WorkerID(name: name, incarnation: reply.incarnation), spec)
    }
  }

  public func lease(worker: WorkerID, waitSeconds: Double) throws -> LeaseGrant {
    let request = Rlax_V1_LeaseRequest.with {
      $0.worker = worker.name; $0.incarnation = worker.incarnation; $0.waitMs = UInt32(max(0, min(waitSeconds, 60)) * 1000)
    }
    let reply = try call("lease") { try await $0.lease(request, metadata: $1) }
    switch reply.kind {
    case .item:
      guard reply.step < 1 << 40, let plan, Int(reply.index) < plan.indexLimit, Int(reply.version) == plan.version(step: Int(reply.step)) else {
        throw TransportError.call(server: name, operation: "lease", code: "bad reply",
                                  message: "lease \(reply.lease) names step \(reply.step) prompt \(reply.index) version \(reply.version), not an item of the plan")
      }
      return .item(id: reply.lease, step: Int(reply.step), index: Int(reply.index))
    case .finished: return .finished
    default: return .idle
    }
  }

  public func renew(lease: UInt64) throws -> Bool {
    let request = Rlax_V1_RenewRequest.with { $0.lease = lease }
    return try call("renew lease \(lease)") { try await $0.renew(request, metadata: $1).held }
  }

  public func report(lease: UInt64, rollout: GroupRollout) throws -> ReportOutcome {
    let request = Rlax_V1_ReportRequest.with { $0.lease = lease; $0.rollout = rollout.message }
    let reply = try call("report step \(rollout.item.step) prompt \(rollout.item.index)") { try await $0.report(request, metadata: $1) }
    switch reply.outcome {
    case .accepted: return .accepted
    case .duplicate: return .duplicate
    default: return .late
    }
  }

  public func fail(worker: WorkerID, error: Error) throws {
    let request = Rlax_V1_FailRequest.with { $0.worker = worker.name; $0.message = "\(error)" }
    _ = try call("fail") { try await $0.fail(request, metadata: $1) }
  }
}
