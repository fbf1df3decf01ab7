import Foundation
import RlaxTraining

/// The controller's state: which work items (step, index) are issued, which are leased to
/// which worker until when, and which groups are in. Workers lease items with a deadline and
/// renew while they generate; a lease that expires, or whose worker restarted, returns its
/// item to the pending set; a group is accepted once per item and only under the item's
/// current lease. With a journal, every change is appended to a file first, so a restarted
/// controller resumes where it was (``ControllerJournal``).
///
/// The same object serves in-process workers (threads) and, behind `ControllerService`,
/// worker processes: the transport is the only thing that differs.
public final class RolloutLedger: RolloutSource, WorkSource, @unchecked Sendable {
  public let plan: Controller
  public let leaseSeconds: Double

  struct Key: Hashable, Comparable, Codable {
    var step: Int
    var index: Int
    static func < (a: Key, b: Key) -> Bool { (a.step, a.index) < (b.step, b.index) }
  }

  struct Lease: Codable, Equatable {
    var id: UInt64
    var key: Key
    var worker: String
    var incarnation: UInt64
    var deadline: Date
  }

  enum Item {
    case pending(leasedBefore: Bool)
    case leased(Lease)
    /// The group, and the lease it came under.
    case done(GroupRollout, lease: UInt64)
  }

  private let condition = NSCondition()
  private var items: [Key: Item] = [:]
  private var leases: [UInt64: Lease] = [:]
  private var nextLease: UInt64 = 1
  /// Groups of steps before this were released; asking for them again issues them anew.
  private var releasedBefore = 0
  private var incarnations: [String: UInt64] = [:]
  private var failure: Error?
  private var finished = false
  private var counters = ControllerCounters()
  private let journal: ControllerJournal?

  /// - Parameter journal: a file to append every change to and, when it exists, to resume from.
  public init(plan: Controller, leaseSeconds: Double = 30, journal: URL? = nil) throws {
    self.plan = plan
    self.leaseSeconds = leaseSeconds
    if let journal {
      let replayed = try ControllerJournal.replay(journal)
      self.journal = try ControllerJournal(url: journal)
      if !replayed.isEmpty {
        for record in replayed { try apply(record, at: Date()) }
        counters.restarts += 1
        self.journal?.append(.restarted)
      }
    } else {
      self.journal = nil
    }
  }

  // MARK: trainer side

  public func issue(step: Int, indices: Range<Int>) throws {
    try checkItems(step: step, indices: indices)
    locked {
      for index in indices where items[Key(step: step, index: index)] == nil {
        record(.issue(step: step, index: index, leasedBefore: false))
      }
    }
  }

  /// The groups of the items once all are in; nil while some are not. Issues missing items.
  public func tryCollect(step: Int, indices: Range<Int>) throws -> [GroupRollout]? {
    try issue(step: step, indices: indices)
    return try locked {
      expireOverdue(Date())
      return try ready(step: step, indices: indices)
    }
  }

  public func collect(step: Int, indices: Range<Int>) throws -> [GroupRollout] {
    try issue(step: step, indices: indices)
    condition.lock()
    defer { condition.unlock() }
    while true {
      if let groups = try ready(step: step, indices: indices) { return groups }
      // Woken by results, failures, and in time for the earliest lease deadline.
      _ = condition.wait(until: nextDeadline() ?? Date().addingTimeInterval(1))
      expireOverdue(Date())
    }
  }

  public func release(before step: Int) throws {
    locked {
      guard step > releasedBefore else { return }
      record(.release(before: step))
      journal?.compact(snapshot())
    }
  }

  public func finish() throws -> ControllerCounters {
    locked {
      finished = true
      condition.broadcast()
      return counters
    }
  }

  public var currentCounters: ControllerCounters { locked { counters } }

  /// A finished run continues (a trainer resumed it for more steps).
  public func reopen() { locked { finished = false } }

  // MARK: worker side

  /// A new incarnation of worker `name`: leases held by its earlier ones are void.
  public func register(name: String) -> WorkerID {
    locked {
      var incarnation = UInt64.random(in: 1...UInt64.max)
      while incarnation == incarnations[name] { incarnation = UInt64.random(in: 1...UInt64.max) }
      incarnations[name] = incarnation
      for lease in leases.values.sorted(by: { $0.id < $1.id }) where lease.worker == name && lease.incarnation != incarnation {
        record(.expire(id: lease.id))
      }
      return WorkerID(name: name, incarnation: incarnation)
    }
  }

  public func tryLease(worker: WorkerID) throws -> LeaseGrant {
    try locked { try grant(worker, now: Date()) }
  }

  public func lease(worker: WorkerID, waitSeconds: Double) throws -> LeaseGrant {
    let deadline = Date().addingTimeInterval(waitSeconds)
    condition.lock()
    defer { condition.unlock() }
    while true {
      let grant = try grant(worker, now: Date())
      guard grant == .idle, Date() < deadline else { return grant }
      _ = condition.wait(until: min(deadline, nextDeadline() ?? deadline))
    }
  }

  public func renew(lease id: UInt64) throws -> Bool {
    try locked {
      guard id < nextLease else { throw LedgerError.unknownLease(id) }
      guard var lease = leases[id] else { return false }
      lease.deadline = Date().addingTimeInterval(leaseSeconds)
      leases[id] = lease
      items[lease.key] = .leased(lease)
      return true
    }
  }

  public func report(lease id: UInt64, rollout: GroupRollout) throws -> ReportOutcome {
    let key = Key(step: rollout.item.step, index: rollout.item.index)
    try checkItems(step: key.step, indices: key.index..<(key.index + 1))
    try check(rollout)
    return try locked {
      guard id < nextLease else { throw LedgerError.unknownLease(id) }
      if let lease = leases[id], lease.key != key {
        throw LedgerError.badItem("lease \(id) is for step \(lease.key.step) prompt \(lease.key.index), the result for step \(key.step) prompt \(key.index)")
      }
      switch items[key] {
      case .done(_, let by)? where by == id:
        // The same lease reporting again (a retried call whose reply was lost).
        record(.dropped(.duplicate))
        return .duplicate
      case .leased(let lease)? where lease.id == id:
        record(.done(SavedRollout(rollout), lease: id))
        return .accepted
      default:
        record(.dropped(.late))
        return .late
      }
    }
  }

  public func fail(worker: WorkerID, error: Error) throws {
    locked {
      if failure == nil { failure = error }
      condition.broadcast()
    }
  }

  // MARK: state changes (under the lock)

  /// Journals `change` and applies it.
  private func record(_ change: ControllerJournal.Record) {
    journal?.append(change)
    try? apply(change, at: Date())
  }

  /// Applies one change; a replayed journal goes through here too, so a restart rebuilds the
  /// same state. Throws only for a journal that contradicts itself.
  private func apply(_ change: ControllerJournal.Record, at now: Date) throws {
    switch change {
    case .issue(let step, let index, let leasedBefore):
      let key = Key(step: step, index: index)
      guard items[key] == nil else { return }
      if step < releasedBefore { counters.regenerated += 1 }
      items[key] = .pending(leasedBefore: leasedBefore)
      counters.issued += 1
    case .lease(let lease):
      guard case .pending(let before)? = items[lease.key] else { throw LedgerError.journal("lease \(lease.id) of an item that is not pending") }
      var lease = lease
      lease.deadline = now.addingTimeInterval(leaseSeconds)
      items[lease.key] = .leased(lease)
      leases[lease.id] = lease
      nextLease = max(nextLease, lease.id + 1)
      counters.leases += 1
      if before { counters.regenerated += 1 }
    case .expire(let id):
      guard let lease = leases.removeValue(forKey: id) else { return }
      items[lease.key] = .pending(leasedBefore: true)
      counters.expiredLeases += 1
    case .done(let saved, let id):
      let rollout = try saved.rollout(plan: plan)
      let key = Key(step: saved.step, index: saved.index)
      leases[id] = nil
      nextLease = max(nextLease, id + 1)
      items[key] = .done(rollout, lease: id)
      counters.accepted += 1
    case .dropped(let kind):
      if kind == .late { counters.lateResults += 1 } else { counters.duplicateResults += 1 }
    case .release(let step):
      releasedBefore = max(releasedBefore, step)
      for key in items.keys where key.step < step { items[key] = nil }
      for (id, lease) in leases where lease.key.step < step { leases[id] = nil }
    case .restarted:
      counters.restarts += 1
    case .snapshot(let saved, let next, let released):
      counters = saved
      nextLease = max(nextLease, next)
      releasedBefore = max(releasedBefore, released)
    }
    condition.broadcast()
  }

  /// The records that rebuild the present state (written in place of the journal on
  /// release). The counters come last: they replace what replaying the items counted.
  private func snapshot() -> [ControllerJournal.Record] {
    var out: [ControllerJournal.Record] = []
    for key in items.keys.sorted() {
      switch items[key]! {
      case .pending(let before): out.append(.issue(step: key.step, index: key.index, leasedBefore: before))
      case .leased(let lease): out += [.issue(step: key.step, index: key.index, leasedBefore: false), .lease(lease)]
      case .done(let rollout, let lease):
        out += [.issue(step: key.step, index: key.index, leasedBefore: false), .done(SavedRollout(rollout), lease: lease)]
      }
    }
    return out + [.snapshot(counters: counters, nextLease: nextLease, releasedBefore: releasedBefore)]
  }

  private func grant(_ worker: WorkerID, now: Date) throws -> LeaseGrant {
    if let failure { throw failure }
    if let failure = journal?.failure { throw failure }
    if finished { return .finished }
    if let current = incarnations[worker.name], current != worker.incarnation { throw LedgerError.superseded(worker.name) }
    expireOverdue(now)
    // The earliest pending item first: the trainer waits for the oldest step.
    var next: Key?
    for (key, item) in items {
      if case .pending = item, next == nil || key < next! { next = key }
    }
    guard let key = next else { return .idle }
    let lease = Lease(id: nextLease, key: key, worker: worker.name, incarnation: worker.incarnation, deadline: now)
    record(.lease(lease))
    return .item(id: lease.id, step: key.step, index: key.index)
  }

  private func expireOverdue(_ now: Date) {
    for lease in leases.values.sorted(by: { $0.id < $1.id }) where leases[lease.id]!.deadline <= now { record(.expire(id: lease.id)) }
  }

  private func nextDeadline() -> Date? { leases.values.map(\.deadline).min() }

  private func ready(step: Int, indices: Range<Int>) throws -> [GroupRollout]? {
    if let failure { throw failure }
    if let failure = journal?.failure { throw failure }
    var out: [GroupRollout] = []
    for index in indices {
      guard case .done(let group, _)? = items[Key(step: step, index: index)] else { return nil }
      out.append(group)
    }
    return out
  }

  private func locked<T>(_ body: () throws -> T) rethrows -> T {
    condition.lock()
    defer { condition.unlock() }
    return try body()
  }

  // MARK: input checks

  private func checkItems(step: Int, indices: Range<Int>) throws {
    guard step >= 0, step < 1 << 40 else { throw LedgerError.badItem("step \(step) is out of range") }
    guard indices.lowerBound >= 0, indices.upperBound <= plan.indexLimit else {
      throw LedgerError.badItem("prompt indices \(indices) are outside 0..<\(plan.indexLimit) (promptsPerStep x (maxRefills + 1))")
    }
  }

  /// A group the plan could have produced: its version, G samples, each no longer than the
  /// sampler allows, tokens in the vocabulary, finite log-probs and rewards.
  private func check(_ r: GroupRollout) throws {
    let step = r.item.step, index = r.item.index
    func bad(_ what: String) -> LedgerError { .badItem("result for step \(step) prompt \(index): \(what)") }
    guard r.version == plan.version(step: step) else { throw bad("version \(r.version), the plan says \(plan.version(step: step))") }
    guard r.completions.count == plan.config.groupSize, r.samplerLogprobs.count == r.completions.count, r.rewards.count == r.completions.count else {
      throw bad("\(r.completions.count) completions, \(r.samplerLogprobs.count) log-prob rows, \(r.rewards.count) rewards; expected \(plan.config.groupSize) of each")
    }
    let vocab = Int32(plan.format.tokenizer.vocabSize)
    for (j, tokens) in r.completions.enumerated() {
      guard tokens.count <= plan.config.sampler.maxNewTokens else {
        throw bad("sample \(j) has \(tokens.count) tokens, more than sampler.maxNewTokens = \(plan.config.sampler.maxNewTokens)")
      }
      guard r.samplerLogprobs[j].count == tokens.count else { throw bad("sample \(j) has \(tokens.count) tokens but \(r.samplerLogprobs[j].count) log-probs") }
      if let t = tokens.first(where: { $0 < 0 || $0 >= vocab }) { throw bad("sample \(j) holds token \(t), outside 0..<\(vocab)") }
      guard r.samplerLogprobs[j].allSatisfy({ $0.isFinite }), r.rewards[j].isFinite else { throw bad("sample \(j) has a non-finite log-prob or reward") }
    }
  }
}

/// Errors of the controller's bookkeeping; each names what was wrong.
public enum LedgerError: Error, CustomStringConvertible {
  /// A request naming items the plan does not have, or a result that does not fit them.
  case badItem(String)
  case unknownLease(UInt64)
  /// A worker name asked for work with an incarnation that a later registration replaced.
  case superseded(String)
  case journal(String)

  public var description: String {
    switch self {
    case .badItem(let reason): return reason
    case .unknownLease(let id): return "lease \(id) was never granted"
    case .superseded(let name): return "\(name) registered again since: this incarnation's leases are void"
    case .journal(let reason): return "controller journal: \(reason)"
    }
  }
}
