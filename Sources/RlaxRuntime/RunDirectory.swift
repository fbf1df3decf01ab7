import Foundation
import RlaxConfig
import RlaxModel
import RlaxSafeTensors
import RlaxTraining
#if canImport(Glibc)
import Glibc
#endif

/// A run directory and the rules that make it belong to one run:
///
///     run.json              RunRecord: config, plugins, fingerprint
///     lock                  flock held by the one process writing here (its pid inside)
///     metrics.jsonl         one line per step, each step exactly once
///     checkpoints/step-N/   complete, durable checkpoints (the last `keepCheckpoints`)
///     checkpoint            symlink to the newest of them
///     reference/ sft/       the frozen starting model, the warm start
///     eval-before.json  eval-after.json (per problem)  summary.json  weights/ (the file store's versions)
///     launch/               `rlax launch`'s roles: token, parameter-server store, controller
///                           journal, pids (launch manages it; a run's own files are the rest)
public final class RunDirectory {
  public let url: URL
  public static let keepCheckpoints = 2
  public static let launchName = "launch"
  private var lockDescriptor: Int32 = -1

  public init(_ url: URL) { self.url = url }
  deinit { if lockDescriptor >= 0 { close(lockDescriptor) } }

  public var record: URL { url.appendingPathComponent("run.json") }
  public var metrics: URL { url.appendingPathComponent("metrics.jsonl") }
  public var summary: URL { url.appendingPathComponent("summary.json") }
  public var checkpoints: URL { url.appendingPathComponent("checkpoints") }
  public var latestLink: URL { url.appendingPathComponent("checkpoint") }
  public var reference: URL { url.appendingPathComponent("reference") }
  public var sft: URL { url.appendingPathComponent("sft") }
  public var weights: URL { url.appendingPathComponent("weights") }
  public var evalBefore: URL { url.appendingPathComponent("eval-before.json") }
  /// The held-out evaluation after RL, problem by problem (`Evaluator.Report`).
  public var evalAfter: URL { url.appendingPathComponent("eval-after.json") }
  var lockFile: URL { url.appendingPathComponent("lock") }

  /// Everything a run writes here; `--overwrite` removes these and nothing else.
  var ownedNames: [String] {
    ["run.json", "metrics.jsonl", "summary.json", "checkpoints", "checkpoint", "reference", "sft", "weights", "eval-before.json", "eval-after.json"]
  }

  /// Takes the directory's lock for the life of this object; a second process (or a second
  /// run in this one) gets an error naming the holder.
  public func lock() throws {
    try DurableStorage.createDirectory(url)
    let fd = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StorageError.io(path: lockFile.path, what: "cannot open the lock file", errno: errno) }
    guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
      let holder = (try? String(contentsOf: lockFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
      close(fd)
      throw RunSetupError.locked(dir: url.path, holder: holder.isEmpty ? "?" : holder)
    }
    let pid = Data("\(getpid())\n".utf8)
    _ = ftruncate(fd, 0)
    _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    lockDescriptor = fd
    _ = contents()  // the lock holder alone writes here: an earlier process's leftovers can go
  }

  /// Names of entries other than the lock; leftovers of interrupted atomic writes (hidden
  /// `.NAME.tmp-*` / `.NAME.old-*`) are removed first.
  func contents() -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
    for name in names where Self.isLeftover(name) { try? FileManager.default.removeItem(at: url.appendingPathComponent(name)) }
    return names.filter { $0 != "lock" && $0 != Self.launchName && !Self.isLeftover($0) }.sorted()
  }

  static func isLeftover(_ name: String) -> Bool { name.hasPrefix(".") && (name.contains(".tmp-") || name.contains(".old-")) }

  /// The saved record, nil when there is none; a malformed one is an error naming the file.
  public func readRecord() throws -> RunRecord? {
    guard FileManager.default.fileExists(atPath: record.path) else { return nil }
    do {
      var tree = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: record))
      // A record written before a config field existed takes today's default for it, so a run
      // started by an older rlax still resumes.
      if case .object(var fields) = tree, let config = fields["config"] {
        fields["config"] = try ConfigTree.merge(try JSONValue.from(RunConfig.defaults()), config)
        tree = .object(fields)
      }
      return try JSONDecoder().decode(RunRecord.self, from: try JSONEncoder().encode(tree))
    } catch {
      throw RunSetupError.unreadable(path: record.path, reason: "\(error)")
    }
  }

  public func writeRecord(_ r: RunRecord) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try DurableStorage.write(try encoder.encode(r), to: record)
  }

  /// Makes the directory ready for a new run: refuses one that holds anything unless
  /// `overwrite`, which removes what a run writes (and nothing else).
  public func prepareForNewRun(overwrite: Bool) throws {
    let existing = contents()
    if overwrite {
      for name in ownedNames where existing.contains(name) {
        do { try FileManager.default.removeItem(at: url.appendingPathComponent(name)) } catch {
          throw StorageError.io(path: url.appendingPathComponent(name).path, what: "cannot remove it for --overwrite",
                                errno: (error as NSError).underlyingErrno)
        }
      }
      return
    }
    guard existing.isEmpty else {
      let record = try? readRecord()
      throw RunSetupError.occupied(dir: url.path, record: record, entries: existing)
    }
  }

  // MARK: checkpoints

  public func checkpointURL(step: Int) -> URL { checkpoints.appendingPathComponent(String(format: "step-%08d", step)) }

  /// Complete checkpoints, oldest first. Leftovers of interrupted saves (hidden temporary
  /// directories) are removed; anything else unexpected is an error naming it.
  public func completeCheckpoints() throws -> [(step: Int, url: URL)] {
    guard FileManager.default.fileExists(atPath: checkpoints.path) else { return [] }
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: checkpoints.path) } catch {
      throw RunSetupError.unreadable(path: checkpoints.path, reason: error.localizedDescription)
    }
    var found: [(Int, URL)] = []
    for name in names.sorted() {
      let entry = checkpoints.appendingPathComponent(name)
      if Self.isLeftover(name) {
        try? FileManager.default.removeItem(at: entry)  // an interrupted save's leftovers
        continue
      }
      guard name.hasPrefix("step-"), name.count == 13, let step = Int(name.dropFirst(5)), step >= 0 else {
        throw RunSetupError.stray(path: entry.path, expected: "step-NNNNNNNN checkpoint directories only")
      }
      found.append((step, entry))
    }
    return found.sorted { $0.0 < $1.0 }
  }

  /// Points `checkpoint` at the newest checkpoint (atomically) and removes all but the last
  /// `keepCheckpoints`.
  public func checkpointSaved(step: Int) throws {
    let link = latestLink, temporary = url.appendingPathComponent(".checkpoint.tmp-\(getpid())")
    unlink(temporary.path)
    guard symlink("checkpoints/" + checkpointURL(step: step).lastPathComponent, temporary.path) == 0,
          rename(temporary.path, link.path) == 0 else {
      throw StorageError.io(path: link.path, what: "cannot point it at step \(step)", errno: errno)
    }
    DurableStorage.syncDirectory(url)
    for old in try completeCheckpoints().dropLast(Self.keepCheckpoints) {
      try? FileManager.default.removeItem(at: old.url)
    }
  }

  // MARK: metrics

  /// Keeps the lines of steps before `step` (each once, in order) and drops the rest: lines
  /// written after the checkpoint being resumed, and a line cut short by a kill.
  public func truncateMetrics(toStepsBefore step: Int) throws {
    let data = (try? Data(contentsOf: metrics)) ?? Data()
    var kept = Data(), seen = Set<Int>()
    for line in data.split(separator: 0x0A) {
      guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
            let s = object["step"] as? Int, s < step, seen.insert(s).inserted else { continue }
      kept.append(contentsOf: line)
      kept.append(0x0A)
    }
    try DurableStorage.write(kept, to: metrics)
  }
}
