import Foundation
import RlaxConfig
import RlaxModel

/// Builds a run config as the command line describes it: defaults, overlaid by a JSON file,
/// then `--set path=value` edits, then `--replace FROM=TO` type swaps across the tree.
public enum RunConfigLoader {
  /// Sections that `--replace` can put in place of another, by type name, with defaults.
  public static func replacement(_ type: String) throws -> JSONValue {
    switch type {
    case "RoPE": return try JSONValue.from(PositionEncodingConfig.rope(RoPEConfig()))
    case "LearnedPositions": return try JSONValue.from(PositionEncodingConfig.learned(LearnedPositionsConfig()))
    default: throw ConfigError.badEdit(edit: "--replace ...=\(type)", reason: "unknown type '\(type)'; known: RoPE, LearnedPositions")
    }
  }

  /// `base` is the defaults, or a saved run's config when resuming it.
  public static func load(base: RunConfig = .defaults(), file: String? = nil, edits: [String] = [], replacements: [String] = []) throws -> RunConfig {
    var tree = try JSONValue.from(base)
    if let file {
      let data: Data
      do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
        throw ConfigError.file(path: file, reason: "cannot read: \(error.localizedDescription)")
      }
      let overlay: JSONValue
      do { overlay = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
        throw ConfigError.file(path: file, reason: "not valid JSON: \(error)")
      }
      do { tree = try ConfigTree.merge(tree, overlay) } catch let e as ConfigError {
        throw ConfigError.file(path: file, reason: "\(e)")
      }
    }
    for edit in edits { try ConfigTree.set(&tree, edit: edit) }
    for r in replacements {
      let parts = r.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2 else { throw ConfigError.badEdit(edit: r, reason: "--replace takes FROM=TO, e.g. RoPE=LearnedPositions") }
      if ConfigTree.replaceAll(type: parts[0], with: try replacement(parts[1]), in: &tree) == 0 {
        throw ConfigError.badEdit(edit: r, reason: "no section of type \(parts[0]) in the config")
      }
    }
    var config = try ConfigTree.build(tree, as: RunConfig.self)
    // `--store-opt keep=N` (rl.storeOptions.keep) is another spelling of rl.keepVersions, which
    // the run passes to the store as keep: carry it over unless keepVersions was set too
    // (validation then requires the two to agree, and rejects a keep that is not an integer
    // the run can use).
    if let keep = config.rl.storeOptions["keep"], let n = RLConfig.positiveInteger(keep),
       config.rl.keepVersions == RLConfig().keepVersions {
      config.rl.keepVersions = n
    }
    try config.validate()
    return config
  }
}
