import Foundation
import RlaxModel
import RlaxPlugins
import RlaxTasks
import RlaxTraining

/// Scores one completion; a reward layer with timeouts sits behind it. A scorer that throws
/// (e.g. ``RewardGuard/scoreChecked(problem:completion:)`` once too many samples failed) ends
/// the run with that error, through the controller.
public typealias RewardScorer = @Sendable (Problem, String) throws -> Double

/// A rollout worker: its own backend instance and model replica. It leases work items from
/// the controller (a ``WorkSource``: the ledger in this process, or a controller process),
/// pulls the weight version the plan names from the parameter server, generates the group
/// with the KV-cache sampler, scores it, and reports it stamped with that version. While it
/// generates, a ``LeaseKeeper`` renews the lease. A preempted device op (PREEMPTED) makes it
/// reload the weights and redo the item. The same loop runs as a thread of `rlax train` and
/// as the whole of `rlax serve worker`.
public final class RolloutWorker: @unchecked Sendable {
  public let id: WorkerID
  let model: DecoderModel
  let sampler: Sampler
  let server: ParameterServer
  let source: any WorkSource
  let plan: Controller
  let score: RewardScorer
  /// Reward warnings so far, when this worker's scorer counts them for it alone (a worker
  /// process): each group carries the ones scoring it caused.
  let ownWarnings: (() -> Int)?
  let format = PromptFormat()
  private(set) var loadedVersion: Int?
  public private(set) var preemptions = 0
  public private(set) var busySeconds = 0.0
  private var thread: Thread?
  private let done = DispatchSemaphore(value: 0)

  public init(id: WorkerID, backend: Backend, modelConfig: DecoderConfig, plan: Controller, server: ParameterServer,
              source: any WorkSource, score: @escaping RewardScorer, ownWarnings: (() -> Int)? = nil) throws {
    self.id = id
    model = try DecoderModel(config: modelConfig, backend: backend)
    sampler = try Sampler(model: model, config: plan.config.sampler, stopToken: PromptFormat().tokenizer.eosID,
                          padToken: PromptFormat().tokenizer.padID)
    self.server = server
    self.source = source
    self.plan = plan
    self.score = score
    self.ownWarnings = ownWarnings
  }

  /// Leases, generates and reports until the controller says the run is over. An error of
  /// the work itself ends the run (reported to the controller, then thrown); an error
  /// reaching the controller is thrown.
  public func serve() throws {
    while true {
      switch try source.lease(worker: id, waitSeconds: 1) {
      case .finished: return
      case .idle: continue
      case .item(let lease, let step, let index):
        let item = try plan.workItem(step: step, index: index)
        let keeper = LeaseKeeper(lease: lease, source: source, every: source.leaseSeconds / 3)
        let rollout: GroupRollout
        do {
          rollout = try run(item)
        } catch {
          keeper.stop()
          let failure = RunPhaseError(phase: "rollout worker \(id.name) (step \(step), prompt \(index), version \(item.version))", underlying: error)
          try source.fail(worker: id, error: failure)
          throw failure
        }
        keeper.stop()
        _ = try source.report(lease: lease, rollout: rollout)
      }
    }
  }

  /// Serves on a thread of its own (the in-process mode).
  func start() {
    let thread = Thread { [self] in
      // The OS-level name (at most 15 bytes) is what crash and watchdog reports print.
      PluginWatch.nameThread("rlax-\(id.name)")
      try? serve()
      done.signal()
    }
    thread.name = "rollout-\(id.name)"
    thread.stackSize = 8 << 20
    self.thread = thread
    thread.start()
  }

  func join() { done.wait() }

  func run(_ item: WorkItem) throws -> GroupRollout {
    let start = Date()
    let warningsBefore = ownWarnings?() ?? 0, preemptionsBefore = preemptions
    while true {
      do {
        if loadedVersion != item.version {
          loadedVersion = nil
          try server.load(version: item.version, into: model)
          loadedVersion = item.version
        }
        let completions = try sampler.generate(prompts: [[Int32]](repeating: item.promptTokens, count: item.seeds.count), seeds: item.seeds)
        let texts = completions.map { format.completionText($0.tokens) }
        let rewards = try texts.map { try score(item.problem, $0) }
        let seconds = Date().timeIntervalSince(start)
        busySeconds += seconds
        return GroupRollout(item: item, version: item.version, completions: completions.map(\.tokens),
                            samplerLogprobs: completions.map(\.logprobs), texts: texts, rewards: rewards, worker: id.name,
                            started: start, seconds: seconds, preemptions: preemptions - preemptionsBefore,
                            rewardWarnings: (ownWarnings?() ?? 0) - warningsBefore)
      } catch let e as PluginError where e.code == .preempted {
        // The device was taken away mid-item: its buffers may hold anything. Reload and redo.
        preemptions += 1
        loadedVersion = nil
      }
    }
  }
}
