import Foundation

/// A run stopped by a signal before RL wrote its first checkpoint (warm start, first
/// evaluation): nothing to save beyond what is already on disk.
public struct RunInterrupted: Error, CustomStringConvertible {
  public var signal: Int32
  public var phase: String
  public var description: String { "stopped by signal \(signal) during \(phase)" }
}
