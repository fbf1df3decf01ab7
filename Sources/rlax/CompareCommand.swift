import ArgumentParser
import Foundation
import RlaxCompare
import RlaxReport
import RlaxRuntime

/// `rlax compare`: arms x seeds of `rlax train`, paired by design (one warm start per seed,
/// shared by every arm; the same prompts, sample streams and held-out problems), then their
/// statistics in DIR/comparison.json and DIR/comparison.md. An interrupted comparison
/// resumes: finished runs are kept, an unfinished one resumes from its checkpoint.
struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Compare algorithms or settings over several seeds, paired, with confidence intervals and tests.",
    discussion: "Flags compare does not know are `rlax train` flags given to every run, e.g. --steps 100 --set rl.promptsPerStep=16.")

  @Option(help: "An arm: an algorithm (\"dapo\") or \"NAME: rlax train flags\" (repeatable, at least 2).") var arm: [String] = []
  @Option(help: "The arm the others are compared with (default: the first).") var baseline: String?
  @Option(help: "Seeds per arm.") var seeds = 3
  @Option(help: "The first seed; seeds are consecutive from it.") var firstSeed: UInt64 = 1
  @Option(help: "The comparison's directory.") var dir = "runs/compare"
  @Option(help: "Runs at once.") var parallel = 1
  @Argument(parsing: .allUnrecognized, help: "rlax train flags for every run.") var trainFlags: [String] = []

  func validate() throws {
    guard arm.count >= 2 else { throw ValidationError("give at least two --arm") }
    guard seeds >= 1 else { throw ValidationError("--seeds must be >= 1, got \(seeds)") }
    guard parallel >= 1 else { throw ValidationError("--parallel must be >= 1, got \(parallel)") }
    let owned = ["--run-dir", "--seed", "--init", "--resume", "--overwrite", "--stop-after"]
    for flag in trainFlags + arm.flatMap({ $0.split(separator: " ").map(String.init) }) where owned.contains(flag.split(separator: "=").first.map(String.init) ?? flag) {
      throw ValidationError("\(flag) is compare's to set for each run; drop it")
    }
  }

  func run() throws {
    let plan = try ComparisonPlan(arms: try arm.map(Arm.parse), baseline: baseline,
                                  seeds: (0..<UInt64(seeds)).map { firstSeed + $0 }, commonFlags: trainFlags)
    let root = URL(fileURLWithPath: dir)
    try plan.claim(root)
    let runner = RunQueue(executable: SelfExecutable.url, parallel: parallel, total: plan.seeds.count * (plan.arms.count + 1))
    for seed in plan.seeds {
      let warm = ComparisonPlan.warmStart(root, seed: seed)
      // The starting model of every arm at this seed: the warm start of a one-step run.
      let warmJob = runner.add(label: "seed \(seed) warm start", runDir: warm, arguments: plan.commonFlags + ["--seed", "\(seed)", "--steps", "1"],
                               after: nil)
      for a in plan.arms {
        runner.add(label: "seed \(seed) \(a.name)", runDir: ComparisonPlan.runDirectory(root, seed: seed, arm: a.name),
                   arguments: plan.commonFlags + a.flags + ["--seed", "\(seed)", "--init", warm.appendingPathComponent("reference").path],
                   after: warmJob)
      }
    }
    try runner.runAll()
    let result = try ComparisonAnalysis.analyze(plan, dir: root)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(result).write(to: root.appendingPathComponent("comparison.json"), options: .atomic)
    let markdown = ComparisonMarkdown.render(result, plan: plan)
    try Data(markdown.utf8).write(to: root.appendingPathComponent("comparison.md"), options: .atomic)
    print(markdown)
    try Report.write(for: root)
    print("wrote \(dir)/comparison.json, comparison.md, report.html, report.md")
  }
}

/// The runs of a comparison as child processes, `parallel` at a time, each after the job it
/// depends on; each run's output goes to RUN_DIR.log. A finished run (its summary.json says
/// it reached its steps) is skipped; a started one resumes.
final class RunQueue: @unchecked Sendable {
  let executable: URL
  let queue = OperationQueue()
  let total: Int
  private let lock = NSLock()
  private var finished = 0
  private var failure: String?
  private let start = Date()

  init(executable: URL, parallel: Int, total: Int) {
    self.executable = executable
    self.total = total
    queue.maxConcurrentOperationCount = parallel
    queue.isSuspended = true
  }

  @discardableResult
  func add(label: String, runDir: URL, arguments: [String], after: Operation?) -> Operation {
    let op = BlockOperation { [self] in
      guard lock.withLock({ failure == nil }) else { return }
      do {
        try run(label: label, runDir: runDir, arguments: arguments)
      } catch {
        lock.withLock { if failure == nil { failure = "\(label): \(error)" } }
      }
    }
    if let after { op.addDependency(after) }
    queue.addOperation(op)
    return op
  }

  func runAll() throws {
    queue.isSuspended = false
    queue.waitUntilAllOperationsAreFinished()
    if let failure { throw ValidationError("compare stopped: \(failure)") }
  }

  private func run(label: String, runDir: URL, arguments: [String]) throws {
    let summary = runDir.appendingPathComponent("summary.json")
    if let data = FileManager.default.contents(atPath: summary.path), let s = try? JSONDecoder().decode(RunSummary.self, from: data),
       let record = try? RunDirectory(runDir).readRecord(), s.steps == record.config.rl.steps {
      report(label, "done already")
      return
    }
    let resuming = FileManager.default.fileExists(atPath: runDir.appendingPathComponent("run.json").path)
    try FileManager.default.createDirectory(at: runDir.deletingLastPathComponent(), withIntermediateDirectories: true)
    let log = URL(fileURLWithPath: runDir.path + ".log")
    FileManager.default.createFile(atPath: log.path, contents: nil)
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    let process = Process()
    process.executableURL = executable
    process.arguments = ["train", "--quiet", "--run-dir", runDir.path] + arguments + (resuming ? ["--resume"] : [])
    process.standardOutput = handle
    process.standardError = handle
    report(label, resuming ? "resuming" : "started")
    let began = Date()
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      throw ValidationError("rlax train exited with status \(process.terminationStatus); see \(log.path)")
    }
    report(label, String(format: "done in %.0f s", Date().timeIntervalSince(began)), counts: true)
  }

  private func report(_ label: String, _ what: String, counts: Bool = false) {
    let line: String = lock.withLock {
      if counts || what == "done already" { finished += 1 }
      let elapsed = Date().timeIntervalSince(start)
      let eta = finished > 0 && finished < total ? String(format: ", ETA %.0f s", elapsed / Double(finished) * Double(total - finished)) : ""
      return "[\(finished)/\(total)\(eta)] \(label): \(what)"
    }
    try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
  }
}
