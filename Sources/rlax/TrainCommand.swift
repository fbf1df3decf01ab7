import ArgumentParser
import Foundation
import RlaxPlugins
import RlaxRuntime
import RlaxTraining
import RlaxTransport

/// `rlax [train]`: the default run. With no input it warms up a model with SFT on the embedded
/// arithmetic task, evaluates it, runs RL, evaluates again, and writes RUN_DIR/summary.json.
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "RL post-training (the default command): warm start, evaluation, RL, evaluation, summary.")

  @OptionGroup var train: TrainOptions

  func run() throws { try train.run() }
}

/// The options of a training run, shared by `rlax train`, `rlax serve trainer` (the trainer
/// of a run whose other roles are processes) and `rlax launch` (which passes them on).
struct TrainOptions: ParsableArguments {
  @OptionGroup var options: RunOptions
  @Option(help: "Algorithm plugin: name or path.") var algo: String?
  @Option(name: .customLong("algo-opt"), help: "Algorithm hyperparameter name=value (repeatable).") var algoOptions: [String] = []
  @Option(help: "Weight-store plugin for the parameter server: memory, file, or a path.") var store: String?
  @Option(name: .customLong("store-opt"), help: "Weight-store option key=value (repeatable).") var storeOptions: [String] = []
  @Option(help: "Run directory (metrics.jsonl, summary.json, checkpoints).") var runDir = "runs/default"
  @Option(help: "RL steps.") var steps: Int?
  @Option(help: "Run seed (controller, initialisation).") var seed: UInt64?
  @Option(help: "Rollout worker threads.") var workers: Int?
  @Option(help: "Staleness bound k: rollouts for step s come from version >= s - k (0 = on-policy).") var maxStaleness: Int?
  @Option(help: "Samples per prompt (G).") var groupSize: Int?
  @Option(help: "Publish weights every this many steps.") var pushEvery: Int?
  @Option(help: "Checkpoint every this many steps.") var checkpointEvery: Int?
  @Option(name: .customLong("init"), help: "Start from this checkpoint instead of an SFT warm start.") var initCheckpoint: String?
  @Flag(help: "Continue the run in --run-dir from its newest checkpoint, with its saved settings (flags given must agree with them).")
  var resume = false
  @Flag(help: "Replace the run in --run-dir (the files rlax wrote there) instead of refusing a directory that holds one.")
  var overwrite = false
  @Option(help: "Use the parameter server at HOST:PORT (`rlax serve ps`) instead of rl.store in this process.")
  var parameterServer: String?
  @Option(help: "Use the controller at HOST:PORT (`rlax serve controller`), whose workers are processes, instead of worker threads.")
  var controller: String?
  @Option(help: "The token file of the role processes (with --parameter-server, --controller).") var tokenFile: String?
  @Option(help: "Stop with a checkpoint after this many steps (to test --resume).") var stopAfter: Int?
  @Flag(help: "No progress output.") var quiet = false
  @Flag(help: ArgumentHelp("A smoke test in seconds (for a new plugin): the default model with a short warm start, few steps and a small evaluation.",
                           discussion: "It sets \(Self.quickEdits.joined(separator: " ")); any --set or flag given as well wins."))
  var quick = false

  /// The settings of --quick. A new plugin's smoke test should take seconds, not the default
  /// run's minutes: 20 SFT steps, 4 RL steps of 4 prompts x 4 samples, 8 held-out problems x 2.
  static let quickEdits = ["rl.warmStartSteps=20", "rl.steps=4", "rl.promptsPerStep=4", "rl.groupSize=4",
                           "eval.problems=8", "eval.samples=2", "eval.ks=[1,2]"]

  /// The run's config: the defaults (or a resumed run's saved settings) with the flags on top.
  func runConfig() throws -> RunConfig {
    try RunConfigLoader.load(base: try savedRecord()?.config ?? .defaults(), file: options.config, edits: edits(), replacements: options.replacements)
  }

  func savedRecord() throws -> RunRecord? { resume ? try RunDirectory(URL(fileURLWithPath: runDir)).readRecord() : nil }

  func edits() throws -> [String] {
    var edits = (quick ? Self.quickEdits : []) + options.edits
    func set(_ path: String, _ value: CustomStringConvertible?) { if let value { edits.append("\(path)=\(value)") } }
    set("rl.algorithm", algo)
    set("rl.store", store)
    set("rl.steps", steps)
    set("rl.seed", seed)
    set("rl.workers", workers)
    set("rl.maxStaleness", maxStaleness)
    set("rl.groupSize", groupSize)
    set("rl.pushEvery", pushEvery)
    set("rl.checkpointEvery", checkpointEvery)
    func mapEdit(_ path: String, _ items: [String], flag: String) throws {
      guard !items.isEmpty else { return }
      let pairs = try PluginOptions.parse(items, flag: flag).pairs
      let object = Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
      let json = String(decoding: try JSONEncoder().encode(object), as: UTF8.self)
      edits.append("\(path)=\(json)")
    }
    try mapEdit("rl.algorithmOptions", algoOptions, flag: "--algo-opt")
    try mapEdit("rl.storeOptions", storeOptions, flag: "--store-opt")
    return edits
  }

  func run() throws {
    let stop = StopRequest()
    let signalSources = SignalStop.install(stop)
    defer { signalSources.forEach { $0.cancel() } }
    if overwrite && resume { throw ValidationError("--resume and --overwrite contradict each other: choose one") }
    // A resumed run starts from its saved settings; flags given on top must agree with them.
    let saved = try savedRecord()
    let config = try runConfig()
    var runOptions = RLRun.Options(runDir: URL(fileURLWithPath: runDir))
    runOptions.backend = options.backend ?? saved?.backend.name ?? RunOptions.defaultBackend
    runOptions.backendOptions = try PluginOptions.parse(options.backend == nil && options.backendOptions.isEmpty ? saved?.backendOptions ?? [] : options.backendOptions,
                                                        flag: "--backend-opt")
    runOptions.initCheckpoint = initCheckpoint ?? saved?.initCheckpoint?.path
    runOptions.resume = resume
    runOptions.overwrite = overwrite
    runOptions.stopAfter = stopAfter
    runOptions.stop = stop
    if parameterServer != nil || controller != nil {
      guard let tokenFile else { throw ValidationError("--parameter-server and --controller need --token-file (the file the role processes were given)") }
      let token = try AccessToken.load(tokenFile, create: false)
      if let parameterServer {
        let (host, port) = try Address.parse(parameterServer, flag: "--parameter-server")
        runOptions.parameterServer = (host, port, token)
      }
      if let controller {
        guard parameterServer != nil else {
          throw ValidationError("--controller needs --parameter-server: worker processes pull weights from a parameter server process")
        }
        let (host, port) = try Address.parse(controller, flag: "--controller")
        runOptions.controller = (host, port, token)
      }
    }
    runOptions.quiet = quiet
    let summary: RunSummary
    do {
      summary = try RLRun(config: config, options: runOptions).run()
    } catch let interrupted as RunInterrupted {
      try? FileHandle.standardError.write(contentsOf: Data("""
        \(interrupted): no RL step was lost (none had run).
        resume with: rlax --resume --run-dir \(runDir)

        """.utf8))
      throw ExitCode(128 + interrupted.signal)
    }
    if let signal = stop.signal, summary.steps < config.rl.steps {
      try? FileHandle.standardError.write(contentsOf: Data("""
        stopped by signal \(signal) after step \(summary.steps) of \(config.rl.steps); checkpoint \(runDir)/checkpoints/step-\(String(format: "%08d", summary.steps))
        resume with: rlax --resume --run-dir \(runDir)

        """.utf8))
      throw ExitCode(128 + signal)
    }
    let before = summary.eval.before, after = summary.eval.after
    func f(_ d: [String: Double], _ k: String) -> String { d[k].map { String(format: "%.3f", $0) } ?? "-" }
    // Every pass@k the run evaluated (eval.ks), in k order.
    let ks = Set(before.keys).union(after.keys).sorted { (Int($0.dropFirst(5)) ?? 0) < (Int($1.dropFirst(5)) ?? 0) }
    let heldOut = ks.map { "\($0) \(f(before, $0)) -> \(f(after, $0))" }.joined(separator: ", ")
    print("""
      \(summary.algorithm) on \(summary.backend): \(summary.steps) steps in \(String(format: "%.0f", summary.wallSeconds)) s \
      (warm start \(String(format: "%.0f", summary.warmStartSeconds)) s, RL \(String(format: "%.0f", summary.rlSeconds)) s)
      held-out \(heldOut)
      weights sha256 \(summary.weightsSHA256)\(summary.simulatedSeconds.map { String(format: "\nsimulated device time: trainer %.3f s (compute %.3f, memory %.3f, collectives %.3f; MFU %.1f%%), workers %@ s (wall %.0f s); preemptions survived %d", $0.trainer, $0.trainerCompute ?? 0, $0.trainerMemory ?? 0, $0.trainerCollectives ?? 0, ($0.trainerMFU ?? 0) * 100, $0.workers.map { String(format: "%.3f", $0) }.joined(separator: ", "), summary.wallSeconds, summary.preemptionsSurvived) } ?? "")
      wrote \(runDir)/summary.json, metrics.jsonl, checkpoints/ (newest: \(runDir)/checkpoint)
      """)
  }
}
