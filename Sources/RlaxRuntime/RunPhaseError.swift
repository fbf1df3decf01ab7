import Foundation

/// An error with the phase of the run it happened in: warm start, evaluation, rollout worker
/// N, trainer step S, saving a checkpoint.
public struct RunPhaseError: Error, CustomStringConvertible {
  public var phase: String
  public var underlying: Error
  public init(phase: String, underlying: Error) {
    self.phase = phase
    self.underlying = underlying
  }
  public var description: String { "\(phase): \(underlying)" }
}
