import Crypto
import Foundation
import RlaxConfig
import RlaxModel
import RlaxPlugins
import RlaxRewards
import RlaxTasks
import RlaxSafeTensors
import RlaxTraining
import RlaxTransport

/// The default run: warm start (SFT, unless --init), held-out evaluation, then RL with RLAX's
/// roles in one process: the controller plans, rollout-worker threads generate from the
/// versions it names, the trainer recomputes log-probs with those exact weights, asks the
/// algorithm plugin for the loss, steps AdamW and publishes versions to the parameter server.
public final class RLRun {
  public struct Options {
    public var runDir: URL
    public var backend: String = "cpu-blas"
    public var backendOptions = PluginOptions()
    public var initCheckpoint: String?
    public var resume = false
    /// Replace what a run wrote in runDir instead of refusing a directory that holds one.
    public var overwrite = false
    /// Stop (with a checkpoint) after this many steps, as if preempted.
    public var stopAfter: Int?
    /// A parameter server in another process (`rlax serve ps`) instead of rl.store in this one.
    public var parameterServer: (host: String, port: Int, token: String)?
    /// A controller in another process (`rlax serve controller`), with worker processes of its
    /// own, instead of the ledger and rl.workers worker threads in this one.
    public var controller: (host: String, port: Int, token: String)?
    /// Set by the command line's SIGINT/SIGTERM handlers: the run checkpoints after the
    /// current step and returns.
    public var stop: StopRequest?
    public var quiet = false
    public init(runDir: URL) { self.runDir = runDir }
  }

  public let config: RunConfig
  public let options: Options
  let locator = PluginLocator.standard()
  let recovery = PreemptionRecovery()
  let directory: RunDirectory
  var log: (String) -> Void

  public init(config: RunConfig, options: Options) throws {
    try config.validate()
    if let stopAfter = options.stopAfter, stopAfter < 1 {
      throw ConfigError.invalid(path: "--stop-after", reason: "must be >= 1 (a step count), got \(stopAfter)")
    }
    self.config = config
    self.options = options
    directory = RunDirectory(options.runDir)
    log = options.quiet ? { _ in } : { try? FileHandle.standardError.write(contentsOf: Data(($0 + "\n").utf8)) }
  }

  var referenceDir: URL { directory.reference }

  /// Where a run starts: from nothing, from the saved starting model (a run stopped before its
  /// first checkpoint), or from a checkpoint.
  enum StartPoint {
    case scratch
    case reference
    case checkpoint(step: Int, url: URL)
  }

  public func run() throws -> RunSummary {
    let wallStart = Date()
    let rl = config.rl
    if options.resume && !FileManager.default.fileExists(atPath: options.runDir.path) {
      throw RunSetupError.nothingToResume(dir: options.runDir.path)
    }
    try directory.lock()

    let backendLibrary = try locator.open(options.backend)
    let makeBackend = { try Backend(library: backendLibrary, options: self.options.backendOptions) }
    let algorithm = try Algorithm(rl.algorithm, options: PluginOptions(rl.algorithmOptions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }),
                                  locator: locator)
    guard rl.groupSize >= algorithm.info.minGroupSize else {
      throw PluginError.invalidCall(plugin: algorithm.name, operation: "rl",
                                    reason: "needs at least \(algorithm.info.minGroupSize) samples per prompt, rl.groupSize is \(rl.groupSize)")
    }
    let start = try claimRunDirectory(backend: backendLibrary.manifest, algorithm: algorithm.library.manifest)
    if case .checkpoint(let step, _) = start, step == rl.steps,
       let done = try? JSONDecoder().decode(RunSummary.self, from: Data(contentsOf: directory.summary)), done.steps == rl.steps {
      log("\(options.runDir.path) is already complete at step \(step): nothing to do (pass --steps > \(step) to train further)")
      return done
    }
    let task = try config.task.make()
    let controller = Controller(config: rl, task: task)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]

    // The policy, its optimizer, and the frozen reference.
    let trainerBackend = try makeBackend()
    var warmStartSeconds = 0.0
    let model: DecoderModel, optimizer: AdamW
    var startStep = 0
    var accounting = Accounting()
    switch start {
    case .checkpoint(let step, let url):
      let loaded = try phase("resume from \(url.path)") { () -> (DecoderModel, AdamW) in
        try validateCheckpoint(url, step: step)
        let loaded = try Checkpoint.loadModel(url, backend: trainerBackend)
        let optimizer = try AdamW(config: config.optimizer, params: loaded.model.params)
        try Checkpoint.loadOptimizer(url, into: optimizer)
        accounting = try JSONDecoder().decode(Accounting.self, from: Data(contentsOf: url.appendingPathComponent("accounting.json")))
        return (loaded.model, optimizer)
      }
      (model, optimizer) = loaded
      startStep = step
      log("resuming at step \(startStep) from \(url.path)")
    case .reference:
      model = try phase("resume from \(referenceDir.path)") { try Checkpoint.loadModel(referenceDir, backend: trainerBackend).model }
      optimizer = try AdamW(config: config.optimizer, params: model.params)
      log("resuming at step 0 from the saved starting model \(referenceDir.path)")
    case .scratch:
      let start = Date()
      model = try phase("warm start") { try startingModel(backend: trainerBackend, needsValueHead: algorithm.info.needsValueHead) }
      warmStartSeconds = Date().timeIntervalSince(start)
      try phase("saving the starting model") {
        try Checkpoint.save(model: model, optimizer: nil, state: TrainingState(step: 0, seed: rl.seed), to: referenceDir)
      }
      optimizer = try AdamW(config: config.optimizer, params: model.params)
    }
    let reference = try phase("loading the reference model") { try Checkpoint.loadModel(referenceDir, backend: trainerBackend).model }
    // The replica of the policy that generated a lagging step's rollouts; on-policy runs never
    // need one, so it is made on first use.
    var old: DecoderModel?

    // Held-out evaluation of the starting point.
    let evaluator = try Evaluator(config: config.eval, task: task)
    let beforeFile = directory.evalBefore
    let before: [String: Double]
    if options.resume, let saved = try? JSONDecoder().decode([String: Double].self, from: Data(contentsOf: beforeFile)) {
      before = saved
    } else {
      before = try phase("evaluation before RL") { try recovery.retrying { try evaluator.evaluate(reference).passAtK } }
      try DurableStorage.write(try encoder.encode(before), to: beforeFile)
      log("eval before: " + format(before))
    }
    try checkStop(phase: "evaluation before RL")

    // The parameter server: a weight-store plugin in this process, or `rlax serve ps`.
    let server: ParameterServer, storeName: String
    if let remote = options.parameterServer {
      let store = try phase("connecting to the parameter server \(remote.host):\(remote.port)") {
        try RemoteWeightStore(host: remote.host, port: remote.port, token: remote.token)
      }
      server = ParameterServer(store: store)
      storeName = store.name
      // Versions from another run would be taken for this one's: a new run needs an empty server.
      if case .scratch = start, let held = try phase("asking \(store.name) for its newest version", { try server.latest() }) {
        throw RunSetupError.parameterServerNotEmpty(address: store.name, latest: held)
      }
    } else {
      var storeOptions = PluginOptions(rl.storeOptions.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).with("keep", "\(rl.keepVersions)")
      let storeLibrary = try locator.open(rl.store)
      if storeLibrary.manifest.name == "file" && rl.storeOptions["dir"] == nil {
        let dir = directory.weights
        try? FileManager.default.removeItem(at: dir)
        storeOptions = storeOptions.with("dir", dir.path)
      }
      server = ParameterServer(store: try WeightStore(library: storeLibrary, options: storeOptions))
      storeName = storeLibrary.manifest.name
    }
    // A parameter server that outlived the trainer may be ahead of its checkpoint: it holds
    // the versions up to its newest (the same bytes: runs are deterministic) and accepts only
    // newer ones, and it may have dropped older ones that the redone steps' old-policy passes
    // need. Versions up to that newest are kept here instead, from the checkpoint and from the
    // redone steps, in a store of this process.
    var replayed: (server: ParameterServer, through: Int)?
    if case .checkpoint(_, let url) = start {
      let held = try server.latest() ?? -1
      let saved = try savedVersions(url)
      if held >= startStep {
        let keep = saved.count + held - startStep + 2
        replayed = (ParameterServer(store: try WeightStore(library: try locator.open("memory"), options: PluginOptions([("keep", "\(keep)")]))), held)
      }
      for (v, file) in saved {
        let target = replayed.map { v <= $0.through } == true ? replayed!.server : server
        if target === server && v <= held { continue }
        try phase("restoring version \(v) from \(file.path)") { try target.publish(version: v, tensors: try HostTensorFile.read(file)) }
      }
    }
    /// Where version v goes and comes from: the replay store for versions the parameter
    /// server had when this trainer started, the parameter server for the rest.
    func versions(_ v: Int) -> ParameterServer { replayed.map { v <= $0.through } == true ? replayed!.server : server }
    if try startStep % rl.pushEvery == 0 && (versions(startStep).latest() ?? -1) < startStep {
      try versions(startStep).publish(version: startStep, from: model)
    }

    // The controller's ledger with rollout-worker threads, or a controller process whose
    // workers are processes too.
    let rollouts: any RolloutSource
    var workers: [RolloutWorker] = []
    let rewardStats = RewardStats()
    let rewards = try RewardGuard(config: rl.reward, task: task, stats: rewardStats)
    defer { rewards.close() }
    if let remote = options.controller {
      var specConfig = config
      specConfig.model = model.config
      let spec = RunSpec(config: specConfig, backend: options.backend, backendOptions: options.backendOptions.pairs.map { "\($0.key)=\($0.value)" })
      let client = try phase("connecting to the controller \(remote.host):\(remote.port)") {
        try RemoteController(host: remote.host, port: remote.port, token: remote.token, plan: controller)
      }
      let resumed = try phase("beginning the run at the controller \(client.name)") { try client.begin(spec) }
      if resumed { log("the controller \(client.name) holds this run already: its groups are reused") }
      rollouts = client
    } else {
      let ledger = try RolloutLedger(plan: controller)
      // A reward function failing on too many samples ends the run (rl.reward.maxFailureShare).
      let score: RewardScorer = { problem, text in try rewards.scoreChecked(problem: problem, completion: text) }
      workers = try (0..<rl.workers).map {
        try RolloutWorker(id: ledger.register(name: "worker-\($0)"), backend: try makeBackend(), modelConfig: model.config, plan: controller,
                          server: server, source: ledger, score: score)
      }
      workers.forEach { $0.start() }
      rollouts = ledger
    }
    var finalCounters: ControllerCounters?
    defer {
      if finalCounters == nil { _ = try? rollouts.finish() }
      workers.forEach { $0.join() }
    }

    // Lines of steps after the checkpoint (written before a kill) are dropped: every step
    // appears exactly once.
    try directory.truncateMetrics(toStepsBefore: startStep)
    let metricsFile: FileHandle
    do {
      metricsFile = try FileHandle(forWritingTo: directory.metrics)
      try metricsFile.seekToEnd()
    } catch {
      throw StorageError.io(path: directory.metrics.path, what: "cannot open it for appending", errno: (error as NSError).underlyingErrno)
    }
    defer { try? metricsFile.close() }

    let rlStart = Date()
    let peakBF16 = try trainerBackend.describe().peakFlopsBF16
    var issuedThrough = startStep - 1
    var waitTotal = 0.0, trainTotal = 0.0, samples = 0, consumedPreemptions = 0, consumedRewardWarnings = 0
    var trainIntervals: [(Date, Date)] = [], generation: [(Date, Double)] = []
    let bar = ProgressBar(total: rl.steps, label: "rl \(algorithm.name)")
    var lastStep = startStep
    var oldVersion: Int?
    for step in startStep..<rl.steps {
      // Issue every step whose weight version exists: up to step + k.
      while issuedThrough < min(step + rl.maxStaleness, rl.steps - 1) {
        issuedThrough += 1
        try phase("issuing step \(issuedThrough)") { try rollouts.issue(step: issuedThrough, indices: 0..<rl.promptsPerStep) }
        accounting.issued += rl.promptsPerStep
      }
      let waitStart = Date()
      // A worker's failure ends the run with its error, which names the worker.
      var groups = try rollouts.collect(step: step, indices: 0..<rl.promptsPerStep)
      var generated = groups.count
      var skippedByCuration = 0
      if algorithm.selectsSequences || rl.curation.isActive {
        // Curation skips groups outside the band, then dynamic sampling drops what the
        // algorithm rejects; refill rounds replace both, and the first promptsPerStep kept
        // groups in index order are trained on.
        var (kept, outside) = try keptGroups(groups, algorithm: algorithm)
        var refill = 0
        while kept.count < rl.promptsPerStep && refill < rl.maxRefills {
          let base = rl.promptsPerStep * (refill + 1)
          try rollouts.issue(step: step, indices: base..<(base + rl.promptsPerStep))
          accounting.issued += rl.promptsPerStep
          let more = try rollouts.collect(step: step, indices: base..<(base + rl.promptsPerStep))
          generated += more.count
          groups += more
          (kept, outside) = try keptGroups(groups, algorithm: algorithm)
          refill += 1
        }
        skippedByCuration = outside
        accounting.skippedByCuration += outside
        accounting.droppedByDynamicSampling += groups.count - outside - min(kept.count, rl.promptsPerStep)
        accounting.consumed += groups.count
        groups = Array(kept.prefix(rl.promptsPerStep))
      } else {
        accounting.consumed += groups.count
      }
      let wait = Date().timeIntervalSince(waitStart)
      waitTotal += wait
      generation += groups.map { ($0.started, $0.seconds) }
      consumedPreemptions += groups.reduce(0) { $0 + $1.preemptions }
      consumedRewardWarnings += groups.reduce(0) { $0 + $1.rewardWarnings }

      let trainStart = Date()
      let clockBefore = try trainerBackend.counters()
      let version = controller.version(step: step)
      // Version v is the weights after v updates: when the rollouts' version is the step, the
      // policy that made them is the trainer's own model, and its forward pass is the old-policy
      // pass (same weights, same batch, bit-identical), so it is not run twice.
      let onPolicy = version == step
      if !onPolicy && oldVersion != version {
        oldVersion = nil
        let replica = try old ?? DecoderModel(config: model.config, backend: trainerBackend)
        old = replica
        try phase("trainer step \(step): loading version \(version)") { try recovery.retrying { try versions(version).load(version: version, into: replica) } }
        oldVersion = version
      }
      // Dynamic sampling can leave no group with signal: the step then changes nothing.
      var metrics = groups.isEmpty ? StepMetrics.empty(step: step) : try phase("trainer step \(step)") {
        try recovery.run(model, optimizer) {
          try trainStep(step: step, groups: groups, model: model, old: onPolicy ? nil : old, reference: reference,
                        optimizer: optimizer, algorithm: algorithm)
        }
      }
      if (step + 1) % rl.pushEvery == 0 {
        try phase("trainer step \(step): publishing version \(step + 1)") { try recovery.retrying { try versions(step + 1).publish(version: step + 1, from: model) } }
      }
      let trainSeconds = Date().timeIntervalSince(trainStart)
      trainTotal += trainSeconds
      trainIntervals.append((trainStart, Date()))
      let clockAfter = try trainerBackend.counters()
      if let t1 = clockAfter.simulatedSeconds, let t0 = clockBefore.simulatedSeconds, t1 > t0 {
        let d = { (a: Double?, b: Double?) in (a ?? 0) - (b ?? 0) }
        metrics.simulated = .init(seconds: t1 - t0, compute: d(clockAfter.simulatedComputeSeconds, clockBefore.simulatedComputeSeconds),
                                  memory: d(clockAfter.simulatedMemorySeconds, clockBefore.simulatedMemorySeconds),
                                  collectives: d(clockAfter.simulatedCollectiveSeconds, clockBefore.simulatedCollectiveSeconds),
                                  mfu: peakBF16 > 0 ? (clockAfter.flops - clockBefore.flops) / ((t1 - t0) * peakBF16) : 0)
      }
      // Held-out pass@k at this point of the run (after the update; outside the step's times and simulated clock).
      if config.eval.every > 0 && (step + 1) % config.eval.every == 0 && step + 1 < rl.steps {
        metrics.heldOut = try phase("evaluation after step \(step + 1)") { try recovery.retrying { try evaluator.evaluate(model).passAtK } }
      }
      samples += groups.reduce(0) { $0 + $1.completions.count }
      metrics.version = version
      metrics.versionLag = step - version
      metrics.generatedGroups = generated
      if rl.curation.isActive { metrics.curationSkipped = skippedByCuration }
      metrics.waitSeconds = wait
      metrics.trainSeconds = trainSeconds
      let stepTokens = groups.reduce(0) { $0 + $1.completions.reduce(0) { $0 + $1.count } + $1.completions.count * $1.item.promptTokens.count }
      metrics.tokensPerSecond = Double(stepTokens) / max(wait + trainSeconds, 1e-9)
      var line = try JSONEncoder().encode(metrics)
      line.append(0x0A)
      do { try metricsFile.write(contentsOf: line) } catch {
        throw StorageError.io(path: directory.metrics.path, what: "cannot append step \(step)", errno: (error as NSError).underlyingErrno)
      }
      if !options.quiet {
        bar.update(step + 1, String(format: "reward %.3f pass@1 %.3f %.0f tok/s lag %d", metrics.rewardMean, metrics.trainPassAt1,
                                    metrics.tokensPerSecond, metrics.versionLag))
      }
      lastStep = step + 1
      let signalled = options.stop?.signal != nil
      let stopping = options.stopAfter == step + 1 || (signalled && step + 1 < rl.steps)
      if stopping || (rl.checkpointEvery > 0 && (step + 1) % rl.checkpointEvery == 0) || step + 1 == rl.steps {
        // The checkpoint counts what the steps up to it issued: a resumed run issues the
        // later steps again.
        var saved = accounting
        saved.issued -= (issuedThrough - step) * rl.promptsPerStep
        try metricsFile.synchronize()
        try phase("saving the checkpoint of step \(step + 1)") {
          try saveCheckpoint(step: step + 1, model: model, optimizer: optimizer, server: server, controller: controller, accounting: saved)
        }
        // Their groups will not be asked for again.
        try phase("releasing the groups of steps before \(step + 1)") { try rollouts.release(before: step + 1) }
      }
      if stopping {
        accounting.abandonedAtStop = accounting.issued - accounting.consumed
        break
      }
    }
    let rlSeconds = Date().timeIntervalSince(rlStart)
    if lastStep == rl.steps { try checkStop(phase: "evaluation after RL") }
    var after: [String: Double] = [:]
    if lastStep == rl.steps {
      let report = try phase("evaluation after RL") { try recovery.retrying { try evaluator.evaluate(model) } }
      // Every problem's count of correct samples: comparisons pair arms problem by problem.
      try DurableStorage.write(try encoder.encode(report), to: directory.evalAfter)
      after = report.passAtK
      log("eval after: " + format(after))
    }
    finalCounters = try phase("ending the run at the controller") { try rollouts.finish() }
    let workerBusy = generation.reduce(0) { $0 + $1.1 }
    // Generation time that ran while the trainer was training (hidden behind it).
    var hidden = 0.0
    for (start, seconds) in generation {
      let end = start.addingTimeInterval(seconds)
      for (a, b) in trainIntervals where a < end && b > start {
        hidden += min(b, end).timeIntervalSince(max(a, start))
      }
    }
    let generated = generation.reduce(0) { $0 + $1.1 }
    let summary = RunSummary(
      backend: backendLibrary.manifest.name, algorithm: algorithm.name, store: storeName, steps: lastStep,
      workers: rl.workers, maxStaleness: rl.maxStaleness, groupSize: rl.groupSize, seed: rl.seed,
      wallSeconds: Date().timeIntervalSince(wallStart), warmStartSeconds: warmStartSeconds, rlSeconds: rlSeconds,
      weightsSHA256: try weightsDigest(model), eval: .init(before: before, after: after),
      throughput: .init(samplesPerSecond: Double(samples) / max(rlSeconds, 1e-9), trainerWaitSeconds: waitTotal,
                        trainerComputeSeconds: trainTotal, workerBusySeconds: workerBusy,
                        overlap: generated > 0 ? hidden / generated : 0),
      accounting: accounting, controller: finalCounters,
      preemptionsSurvived: (workers.isEmpty ? consumedPreemptions : workers.reduce(0) { $0 + $1.preemptions }) + recovery.survived,
      rewardWarnings: rewardStats.warnings + consumedRewardWarnings,
      simulatedSeconds: try simulatedTime(trainer: trainerBackend, workers: workers),
      resumedFromStep: options.resume ? startStep : nil)
    try DurableStorage.write(try encoder.encode(summary), to: directory.summary)
    return summary
  }

  /// Takes the run directory for this run: a new run refuses one that holds another (unless
  /// --overwrite); --resume checks the saved record against this config and finds where to
  /// start. run.json is written before anything else, so a resume always has it to check.
  func claimRunDirectory(backend: PluginManifest, algorithm: PluginManifest) throws -> StartPoint {
    var initStamp: RunRecord.InitStamp?
    var recorded = config
    if let initCheckpoint = options.initCheckpoint {
      let url = URL(fileURLWithPath: initCheckpoint)
      if options.resume, !FileManager.default.fileExists(atPath: url.path), let saved = try directory.readRecord(),
         let stamp = saved.initCheckpoint, stamp.path == url.standardizedFileURL.path {
        // A resumed run starts from its own checkpoints: the --init checkpoint it began from
        // may be gone; the record keeps its digest and model.
        initStamp = stamp
        recorded.model = saved.config.model
      } else {
        recorded.model = try modelOfInit(url)
        initStamp = .init(path: url.standardizedFileURL.path, modelSHA256: try RunRecord.fileDigest(url.appendingPathComponent(Checkpoint.modelFile)))
      }
    }
    var record = try RunRecord(config: recorded, backend: backend, backendOptions: options.backendOptions, algorithm: algorithm,
                               initCheckpoint: initStamp)
    guard options.resume else {
      try directory.prepareForNewRun(overwrite: options.overwrite)
      try directory.writeRecord(record)
      return .scratch
    }
    guard let saved = try directory.readRecord() else {
      // Killed after taking the directory but before it wrote anything: starting is resuming.
      guard directory.contents().isEmpty else { throw RunSetupError.nothingToResume(dir: options.runDir.path) }
      log("nothing saved yet in \(options.runDir.path): starting the run from the beginning")
      try directory.writeRecord(record)
      return .scratch
    }
    let differences = try record.differences(from: saved)
    guard differences.isEmpty else { throw RunSetupError.configDiffers(dir: options.runDir.path, fields: differences) }
    let start: StartPoint
    if let latest = try directory.completeCheckpoints().last {
      // Equal is the same run's last checkpoint (it may still need its final evaluation).
      guard config.rl.steps > latest.step || (config.rl.steps == latest.step && saved.config.rl.steps == latest.step) else {
        throw RunSetupError.stepsNotAfterCheckpoint(dir: options.runDir.path, steps: config.rl.steps, saved: latest.step)
      }
      start = .checkpoint(step: latest.step, url: latest.url)
    } else if (try? Checkpoint.describe(referenceDir)) != nil {
      start = .reference
    } else {
      start = .scratch
    }
    if saved.config.rl.steps != config.rl.steps {
      log("rl.steps changed from \(saved.config.rl.steps) to \(config.rl.steps); the learning-rate schedule follows the new total")
    }
    record.created = saved.created
    try directory.writeRecord(record)
    return start
  }

  /// The model config of an --init checkpoint; a `model.*` field the user set (differs from
  /// the default) that the checkpoint contradicts is an error naming the field.
  func modelOfInit(_ url: URL) throws -> DecoderConfig {
    let saved = try Checkpoint.describe(url).config
    func fields(_ c: DecoderConfig) throws -> [String: String] {
      Dictionary(ConfigTree.flatten(try JSONValue.from(c)).compactMap { line in
        line.range(of: " = ").map { (String(line[..<$0.lowerBound]), String(line[$0.upperBound...])) }
      }, uniquingKeysWith: { a, _ in a })
    }
    let mine = try fields(config.model), defaults = try fields(RunConfig.defaults().model), theirs = try fields(saved)
    let conflicts = mine.keys.sorted().filter { mine[$0] != defaults[$0] && mine[$0] != theirs[$0] }
    guard conflicts.isEmpty else {
      throw RunSetupError.initContradicts(path: url.path, fields: conflicts.map { "model.\($0): set to \(mine[$0]!), the checkpoint has \(theirs[$0] ?? "(absent)")" })
    }
    return saved
  }

  /// Runs `body`, naming the phase in any error it throws.
  func phase<T>(_ name: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as RunPhaseError { throw e } catch let e as RunInterrupted { throw e } catch {
      throw RunPhaseError(phase: name, underlying: error)
    }
  }

  /// Before RL has a checkpoint to write, a stop request ends the run at once.
  func checkStop(phase: String) throws {
    if let signal = options.stop?.signal { throw RunInterrupted(signal: signal, phase: phase) }
  }

  /// --init's checkpoint, or a fresh model warmed up with SFT.
  func startingModel(backend: Backend, needsValueHead: Bool) throws -> DecoderModel {
    if let initCheckpoint = options.initCheckpoint {
      return try Checkpoint.loadModel(URL(fileURLWithPath: initCheckpoint), backend: backend,
                                      addValueHead: needsValueHead, seed: config.rl.seed).model
    }
    var modelConfig = config.model
    modelConfig.valueHead = modelConfig.valueHead || needsValueHead
    let model = try DecoderModel(config: modelConfig, backend: backend)
    try model.initialize(seed: config.rl.seed)
    guard config.rl.warmStartSteps > 0 else { return model }
    var sftConfig = config
    sftConfig.sft.steps = config.rl.warmStartSteps
    let sft = try SFTTrainer(config: sftConfig, model: model)
    let bar = ProgressBar(total: sftConfig.sft.steps, label: "warm start (sft)")
    while sft.step < sftConfig.sft.steps {
      let r = try recovery.run(model, sft.optimizer) { try sft.trainStep() }
      if !options.quiet { bar.update(r.step, String(format: "loss %.4f", r.loss)) }
      try checkStop(phase: "warm start")
    }
    try sft.save(to: directory.sft)
    return model
  }

  /// The groups a step may train on, in index order, and how many curation skipped: those
  /// inside rl.curation's band, of which the algorithm's selectSequences keeps the groups with
  /// a kept row (all of them when it selects nothing).
  func keptGroups(_ groups: [GroupRollout], algorithm: Algorithm) throws -> (kept: [GroupRollout], outsideBand: Int) {
    let inBand = groups.filter { config.rl.curation.admits(rewards: $0.rewards) }
    guard algorithm.selectsSequences, !inBand.isEmpty else { return (inBand, groups.count - inBand.count) }
    let batch = StepBatch(groups: inBand, padToken: 0)
    let probe = RolloutBatch(numSequences: batch.numSequences, numTokens: batch.responseLength, groupIDs: batch.groupIDs,
                             rewards: batch.rewards, mask: batch.mask, behaviorLogprobs: batch.samplerLogprobs,
                             logprobs: batch.samplerLogprobs, maxResponseTokens: config.rl.sampler.maxNewTokens)
    guard let keep = try algorithm.selectSequences(probe) else { return (inBand, groups.count - inBand.count) }
    var row = 0
    let kept = inBand.filter { g in
      defer { row += g.completions.count }
      return (row..<(row + g.completions.count)).contains { keep[$0] }
    }
    return (kept, groups.count - inBand.count)
  }

  /// The updates of one RL step on `groups`: one, or rl.updateEpochs passes over
  /// rl.minibatches minibatches. `old` is the policy that generated them, nil when it is
  /// `model` itself (on-policy).
  func trainStep(step: Int, groups: [GroupRollout], model: DecoderModel, old: DecoderModel?, reference: DecoderModel,
                 optimizer: AdamW, algorithm: Algorithm) throws -> StepMetrics {
    let minibatches = min(config.rl.minibatches, groups.count)
    if config.rl.updateEpochs == 1 && minibatches <= 1 {
      return try singleUpdate(step: step, groups: groups, model: model, old: old, reference: reference, optimizer: optimizer, algorithm: algorithm)
    }
    // Minibatches of whole groups (group-relative advantages stay within one), each with the
    // behaviour log-probs (and values) of the generating policy and the reference's, fixed
    // before the first update.
    let size = (groups.count + minibatches - 1) / minibatches
    let chunks = stride(from: 0, to: groups.count, by: size).map { Array(groups[$0..<min($0 + size, groups.count)]) }
    let valueHead = algorithm.info.needsValueHead
    let generator = old ?? model
    let fixed = try chunks.map { chunk -> (batch: StepBatch, behavior: [Float], oldValues: [Float]?, ref: [Float]?) in
      let batch = StepBatch(groups: chunk, padToken: 0)
      let pass = try generator.forward(batch.tokens, saveForBackward: false)
      let ref = algorithm.info.needsReferenceLogprobs
        ? batch.responses(try reference.logprobs(try reference.forward(batch.tokens, saveForBackward: false))) : nil
      return (batch, batch.responses(try generator.logprobs(pass)), valueHead ? batch.responses(try generator.values(pass)) : nil, ref)
    }
    let lr = config.schedule.learningRate(step: step, totalSteps: config.rl.steps, peak: config.rl.learningRate)
    var ratio = 0.0, mismatch = 0.0
    var last: (loss: Double, gradNorm: Double, metrics: [String: Double]) = (0, 0, [:])
    for _ in 0..<config.rl.updateEpochs {
      for m in fixed {
        let batch = m.batch
        let pass = try model.forward(batch.tokens)
        let current = batch.responses(try model.logprobs(pass))
        let values = valueHead ? batch.responses(try model.values(pass)) : nil
        var rollouts = RolloutBatch(numSequences: batch.numSequences, numTokens: batch.responseLength, groupIDs: batch.groupIDs,
                                    rewards: batch.rewards, mask: batch.mask, behaviorLogprobs: m.behavior, logprobs: current,
                                    refLogprobs: m.ref, values: values, oldValues: m.oldValues,
                                    maxResponseTokens: config.rl.sampler.maxNewTokens)
        rollouts.advantages = try algorithm.computeAdvantages(rollouts)
        let result = try algorithm.computeLoss(rollouts)
        try model.params.zeroGrads()
        try model.backward(pass, dlogprobs: batch.scatter(result.dlossDlogprobs), dvalues: result.dlossDvalues.map(batch.scatter))
        let report = try optimizer.apply(lr: lr, decays: model.decays)
        let mask = batch.mask
        for i in mask.indices where mask[i] != 0 {
          ratio = max(ratio, Double(abs(current[i] - m.behavior[i])))
          mismatch = max(mismatch, Double(abs(batch.samplerLogprobs[i] - m.behavior[i])))
        }
        last = (result.loss, report.gradNorm, result.metrics)
      }
    }
    return .trained(step: step, groups: groups, loss: last.loss, gradNorm: last.gradNorm, maxRatioDeviation: ratio,
                    samplerMismatch: mismatch, algorithm: last.metrics)
  }

  /// The one update of a step (the default): when on-policy, the policy's own forward pass
  /// serves as the behaviour pass.
  func singleUpdate(step: Int, groups: [GroupRollout], model: DecoderModel, old: DecoderModel?, reference: DecoderModel,
                    optimizer: AdamW, algorithm: Algorithm) throws -> StepMetrics {
    let batch = StepBatch(groups: groups, padToken: 0)
    let pass = try model.forward(batch.tokens)
    let current = batch.responses(try model.logprobs(pass))
    let valueHead = algorithm.info.needsValueHead
    let values = valueHead ? batch.responses(try model.values(pass)) : nil
    let behavior: [Float], oldValues: [Float]?
    if let old {
      let oldPass = try old.forward(batch.tokens, saveForBackward: false)
      behavior = batch.responses(try old.logprobs(oldPass))
      oldValues = valueHead ? batch.responses(try old.values(oldPass)) : nil
    } else {
      (behavior, oldValues) = (current, values)
    }
    let ref = algorithm.info.needsReferenceLogprobs
      ? batch.responses(try reference.logprobs(try reference.forward(batch.tokens, saveForBackward: false))) : nil
    let mask = batch.mask
    var rollouts = RolloutBatch(numSequences: batch.numSequences, numTokens: batch.responseLength, groupIDs: batch.groupIDs,
                                rewards: batch.rewards, mask: mask, behaviorLogprobs: behavior, logprobs: current,
                                refLogprobs: ref, values: values, oldValues: oldValues,
                                maxResponseTokens: config.rl.sampler.maxNewTokens)
    rollouts.advantages = try algorithm.computeAdvantages(rollouts)
    let result = try algorithm.computeLoss(rollouts)
    try model.params.zeroGrads()
    try model.backward(pass, dlogprobs: batch.scatter(result.dlossDlogprobs), dvalues: result.dlossDvalues.map(batch.scatter))
    let lr = config.schedule.learningRate(step: step, totalSteps: config.rl.steps, peak: config.rl.learningRate)
    let report = try optimizer.apply(lr: lr, decays: model.decays)
    var ratio = 0.0, mismatch = 0.0
    for i in mask.indices where mask[i] != 0 {
      ratio = max(ratio, Double(abs(current[i] - behavior[i])))
      mismatch = max(mismatch, Double(abs(batch.samplerLogprobs[i] - behavior[i])))
    }
    return .trained(step: step, groups: groups, loss: result.loss, gradNorm: report.gradNorm, maxRatioDeviation: ratio,
                    samplerMismatch: mismatch, algorithm: result.metrics)
  }

  func saveCheckpoint(step: Int, model: DecoderModel, optimizer: AdamW, server: ParameterServer, controller: Controller,
                      accounting: Accounting) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    // Versions later steps still need (maxStaleness > 0), beside the current weights.
    let needed = Set((step..<min(step + config.rl.maxStaleness + 1, config.rl.steps)).map { controller.version(step: $0) }).filter { $0 < step }
    let versions = try needed.sorted().map { ($0, try server.fetch(version: $0)) }
    // A fresh directory per checkpoint, renamed into place once durable: the previous
    // checkpoint is never touched until this one is complete.
    try Checkpoint.save(model: model, optimizer: optimizer, state: TrainingState(step: step, seed: config.rl.seed),
                        extraJSON: ["accounting": try encoder.encode(accounting)], to: directory.checkpointURL(step: step)) { tmp in
      for (v, tensors) in versions { try HostTensorFile.write(tensors, to: tmp.appendingPathComponent(Self.versionFileName(v))) }
    }
    try directory.checkpointSaved(step: step)
  }

  static func versionFileName(_ v: Int) -> String { String(format: "version-%08d.safetensors", v) }

  /// The weight versions saved beside a checkpoint.
  func savedVersions(_ dir: URL) throws -> [(Int, URL)] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix("version-") }.sorted().map { name in
      guard name.count == Self.versionFileName(0).count, name.hasSuffix(".safetensors"),
            let v = Int(name.dropFirst("version-".count).prefix(8)), v >= 0 else {
        throw RunSetupError.stray(path: dir.appendingPathComponent(name).path, expected: "version-NNNNNNNN.safetensors")
      }
      return (v, dir.appendingPathComponent(name))
    }
  }

  /// A checkpoint directory holds only what saveCheckpoint writes, and its state names its own step.
  func validateCheckpoint(_ dir: URL, step: Int) throws {
    let known: Set<String> = [Checkpoint.modelFile, Checkpoint.optimizerFile, Checkpoint.configFile, Checkpoint.stateFile, "accounting.json"]
    for name in try FileManager.default.contentsOfDirectory(atPath: dir.path) where !known.contains(name) && !name.hasPrefix("version-") {
      throw RunSetupError.stray(path: dir.appendingPathComponent(name).path,
                                expected: "only \(known.sorted().joined(separator: ", ")) and version-NNNNNNNN.safetensors")
    }
    _ = try savedVersions(dir)
    let state = try Checkpoint.describe(dir).state
    guard state.step == step else {
      throw CheckpointError.bad(file: dir.appendingPathComponent(Checkpoint.stateFile).path,
                                reason: "step is \(state.step) but the directory is \(dir.lastPathComponent)")
    }
  }

  /// Simulated device seconds of the trainer's and the workers' backends, when they keep a clock.
  func simulatedTime(trainer: Backend, workers: [RolloutWorker]) throws -> RunSummary.SimulatedTime? {
    let c = try trainer.counters()
    guard let t = c.simulatedSeconds else { return nil }
    let peak = try trainer.describe().peakFlopsBF16
    return .init(trainer: t, workers: try workers.map { try $0.model.backend.counters().simulatedSeconds ?? 0 },
                 trainerCompute: c.simulatedComputeSeconds, trainerMemory: c.simulatedMemorySeconds,
                 trainerCollectives: c.simulatedCollectiveSeconds, trainerMFU: peak > 0 && t > 0 ? c.flops / (t * peak) : nil)
  }

  func weightsDigest(_ model: DecoderModel) throws -> String {
    let values = try model.backend.download(model.params.flat(model.params.values))
    let digest = values.withUnsafeBytes { SHA256.hash(data: $0) }
    return digest.map { String(format: "%02x", $0) }.joined()
  }

  func format(_ pass: [String: Double]) -> String {
    pass.sorted { $0.key < $1.key }.map { String(format: "%@ %.3f", $0.key, $0.value) }.joined(separator: "  ")
  }
}
