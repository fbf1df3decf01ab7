/// The trainer's side of the controller: it asks for the groups of a step and says when
/// earlier steps are safely checkpointed. ``RolloutLedger`` is the in-process implementation;
/// `RemoteController` reaches a `rlax serve controller` process over gRPC.
public protocol RolloutSource: AnyObject {
  /// Makes items (step, index) for `indices` available to workers; idempotent.
  func issue(step: Int, indices: Range<Int>) throws
  /// The groups of those items once all are in (issuing them if needed), in index order.
  /// Asking again for the same items gives the same groups until they are released.
  func collect(step: Int, indices: Range<Int>) throws -> [GroupRollout]
  /// Groups of steps before `step` will not be asked for again.
  func release(before step: Int) throws
  /// The run is over: workers are told to exit. Returns the final counters.
  func finish() throws -> ControllerCounters
}
