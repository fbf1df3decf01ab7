import Foundation
import RlaxConfig
import RlaxTraining

/// What a controller process and its workers need to know of a run, sent by the trainer in
/// `Begin`: the config (with the model's actual shape, which an --init checkpoint decides)
/// and the backend workers use unless given their own.
public struct RunSpec: Codable, Equatable, Sendable {
  public var config: RunConfig
  public var backend: String
  public var backendOptions: [String]

  public init(config: RunConfig, backend: String, backendOptions: [String]) {
    self.config = config
    self.backend = backend
    self.backendOptions = backendOptions
  }

  public func json() throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return String(decoding: try encoder.encode(self), as: UTF8.self)
  }

  public static func parse(_ json: String) throws -> RunSpec {
    do { return try JSONDecoder().decode(RunSpec.self, from: Data(json.utf8)) } catch {
      throw ConfigError.invalid(path: "run spec", reason: "not a run spec: \(error)")
    }
  }

  /// Fields that differ from `other` where they change the plan or the rollouts; a resumed
  /// run may train for more steps, with other workers or another checkpoint cadence.
  public func differences(from other: RunSpec) throws -> [String] {
    func lines(_ s: RunSpec) throws -> [String: String] {
      var s = s
      (s.config.rl.steps, s.config.rl.workers, s.config.rl.checkpointEvery) = (0, 0, 0)
      return Dictionary(ConfigTree.flatten(try JSONValue.from(s)).compactMap { line in
        line.range(of: " = ").map { (String(line[..<$0.lowerBound]), String(line[$0.upperBound...])) }
      }, uniquingKeysWith: { a, _ in a })
    }
    let mine = try lines(self), theirs = try lines(other)
    return Set(mine.keys).union(theirs.keys).sorted().filter { mine[$0] != theirs[$0] }
      .map { "\($0): \(theirs[$0] ?? "(absent)") -> \(mine[$0] ?? "(absent)")" }
  }
}
