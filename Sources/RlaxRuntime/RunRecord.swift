import Crypto
import Foundation
import RlaxConfig
import RlaxPlugins
import RlaxTraining

/// RUN_DIR/run.json: what a run is, so that a directory belongs to one run. Its fingerprint
/// covers everything that decides the final weights: the config (less the fields that only
/// decide speed or storage), the plugins' names and versions, the backend's options and the
/// digest of the `--init` checkpoint.
public struct RunRecord: Codable, Sendable, Equatable {
  public var fingerprint: String
  public var config: RunConfig
  public var backend: PluginStamp
  public var backendOptions: [String]
  public var algorithm: PluginStamp
  public var initCheckpoint: InitStamp?
  public var created: String

  public struct PluginStamp: Codable, Sendable, Equatable {
    public var name: String
    public var version: String
  }

  public struct InitStamp: Codable, Sendable, Equatable {
    public var path: String
    public var modelSHA256: String
  }

  /// Config fields that change how fast or where a run works, never its weights: the number
  /// of rollout workers (runs are bit-identical for any count), checkpoint cadence, the
  /// parameter server's store, and evaluation batching. `rl.steps` is compared on its own
  /// (a resumed run may be extended).
  public static let fieldsThatDoNotDecideWeights: Set<String> = [
    "rl.workers", "rl.checkpointEvery", "rl.store", "rl.storeOptions", "rl.keepVersions", "eval.batchSize", "rl.steps",
  ]

  public init(config: RunConfig, backend: PluginManifest, backendOptions: PluginOptions, algorithm: PluginManifest,
              initCheckpoint: InitStamp?) throws {
    self.config = config
    self.backend = PluginStamp(name: backend.name, version: backend.version)
    self.backendOptions = backendOptions.pairs.map { "\($0.key)=\($0.value)" }
    self.algorithm = PluginStamp(name: algorithm.name, version: algorithm.version)
    self.initCheckpoint = initCheckpoint
    created = ISO8601DateFormatter().string(from: Date())
    fingerprint = ""
    fingerprint = try Self.digest(identityLines())
  }

  /// `field = value` lines of everything the fingerprint covers.
  public func identityLines() throws -> [String: String] {
    var lines: [String: String] = [:]
    for line in ConfigTree.flatten(try JSONValue.from(config)) {
      guard let eq = line.range(of: " = ") else { continue }
      let path = String(line[..<eq.lowerBound])
      if Self.fieldsThatDoNotDecideWeights.contains(where: { path == $0 || path.hasPrefix($0 + ".") }) { continue }
      lines[path] = String(line[eq.upperBound...])
    }
    lines["plugins.backend"] = "\(backend.name) \(backend.version)"
    lines["plugins.backendOptions"] = backendOptions.sorted().joined(separator: ",")
    lines["plugins.algorithm"] = "\(algorithm.name) \(algorithm.version)"
    lines["init.modelSHA256"] = initCheckpoint?.modelSHA256 ?? "none"
    lines["rl.steps"] = "\(config.rl.steps)"
    return lines
  }

  /// Fields whose values differ between two records (besides rl.steps), as
  /// `field: saved X, now Y`.
  public func differences(from saved: RunRecord) throws -> [String] {
    let now = try identityLines(), then = try saved.identityLines()
    return Set(now.keys).union(then.keys).subtracting(["rl.steps"]).sorted().compactMap { key in
      now[key] == then[key] ? nil : "\(key): saved \(then[key] ?? "(absent)"), now \(now[key] ?? "(absent)")"
    }
  }

  static func digest(_ lines: [String: String]) throws -> String {
    let text = lines.keys.sorted().map { "\($0) = \(lines[$0]!)" }.joined(separator: "\n")
    return SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
  }

  /// sha256 of a file (the `--init` checkpoint's weights).
  public static func fileDigest(_ url: URL) throws -> String {
    let data: Data
    do { data = try Data(contentsOf: url) } catch { throw RunSetupError.unreadable(path: url.path, reason: error.localizedDescription) }
    return SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
  }
}
