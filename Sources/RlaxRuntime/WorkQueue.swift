import Foundation

/// A blocking multi-producer multi-consumer queue; `close()` wakes every waiter with nil.
final class WorkQueue<Element>: @unchecked Sendable {
  private let condition = NSCondition()
  private var items: [Element] = []
  private var closed = false

  func push(_ item: Element) {
    condition.lock()
    items.append(item)
    condition.signal()
    condition.unlock()
  }

  /// The next item, or nil once closed and drained.
  func pop() -> Element? {
    condition.lock()
    defer { condition.unlock() }
    while items.isEmpty && !closed { condition.wait() }
    return items.isEmpty ? nil : items.removeFirst()
  }

  func close() {
    condition.lock()
    closed = true
    condition.broadcast()
    condition.unlock()
  }
}

/// Finished groups, keyed by (step, index); the trainer waits for the ones it needs.
final class RolloutBoard: @unchecked Sendable {
  private let condition = NSCondition()
  private var groups: [Int: [Int: GroupRollout]] = [:]
  private var failure: Error?

  func put(_ group: GroupRollout) {
    condition.lock()
    groups[group.item.step, default: [:]][group.item.index] = group
    condition.broadcast()
    condition.unlock()
  }

  func fail(_ error: Error) {
    condition.lock()
    if failure == nil { failure = error }
    condition.broadcast()
    condition.unlock()
  }

  /// Waits for groups `indices` of `step` and removes them from the board.
  func take(step: Int, indices: Range<Int>) throws -> [GroupRollout] {
    condition.lock()
    defer { condition.unlock() }
    while failure == nil && !indices.allSatisfy({ groups[step]?[$0] != nil }) { condition.wait() }
    if let failure { throw failure }
    let out = indices.map { groups[step]!.removeValue(forKey: $0)! }
    if groups[step]!.isEmpty { groups[step] = nil }
    return out
  }
}
