/// A rollout worker's side of the controller: it leases items, keeps its lease alive while
/// generating, and reports the group. ``RolloutLedger`` is the in-process implementation;
/// `RemoteController` reaches a `rlax serve controller` process over gRPC.
public protocol WorkSource: AnyObject, Sendable {
  /// How long a lease lasts unless renewed.
  var leaseSeconds: Double { get }
  /// The next item to generate, waiting up to `waitSeconds` for one.
  func lease(worker: WorkerID, waitSeconds: Double) throws -> LeaseGrant
  /// Extends a lease; false when it expired or was voided (its result will be dropped).
  func renew(lease: UInt64) throws -> Bool
  func report(lease: UInt64, rollout: GroupRollout) throws -> ReportOutcome
  /// An error that must end the run (a reward function failing too often, say).
  func fail(worker: WorkerID, error: Error) throws
}

/// A worker as the controller knows it: a name that stays the same across restarts, and the
/// incarnation the controller gave this start of it (leases of earlier ones are void).
public struct WorkerID: Hashable, Sendable, CustomStringConvertible {
  public var name: String
  public var incarnation: UInt64
  public init(name: String, incarnation: UInt64) {
    self.name = name
    self.incarnation = incarnation
  }
  public var description: String { name }
}

/// What a worker asking for work gets.
public enum LeaseGrant: Equatable, Sendable {
  /// Generate item (step, index) under lease `id`; the version is the plan's for the step.
  case item(id: UInt64, step: Int, index: Int)
  /// Nothing to do yet: ask again.
  case idle
  /// The run is over.
  case finished
}

/// What became of a reported group.
public enum ReportOutcome: String, Sendable {
  case accepted
  /// This lease's group was already in (a report sent twice): this copy is dropped.
  case duplicate
  /// The lease had expired, was voided, or its steps were released: the item was (or will
  /// be) generated under another lease; this result is dropped.
  case late
}

/// The controller's accounting of work: every lease granted and every result, accepted or
/// dropped. Kept across controller restarts by its journal.
public struct ControllerCounters: Codable, Equatable, Sendable {
  /// Items issued (a released item issued again counts again).
  public var issued = 0
  public var leases = 0
  public var accepted = 0
  /// Leases of items that had been leased before (the first worker died, stalled, or was
  /// restarted), and items issued again after their group was released.
  public var regenerated = 0
  public var expiredLeases = 0
  public var lateResults = 0
  public var duplicateResults = 0
  /// Times the controller restarted from its journal.
  public var restarts = 0
  public init() {}
}
