import Foundation
import RlaxModel
import RlaxPlugins
import RlaxTasks
import RlaxTraining

/// Scores one completion; a reward layer with timeouts sits behind it. A scorer that throws
/// (e.g. ``RewardGuard/scoreChecked(problem:completion:)`` once too many samples failed) fails
/// the rollout board, which ends the run with that error.
public typealias RewardScorer = @Sendable (Problem, String) throws -> Double

/// A rollout worker: its own backend instance and model replica, pulling the weight version
/// each work item names from the parameter server, generating the group with the KV-cache
/// sampler, scoring it, and posting it stamped with that version. A preempted device op
/// (PREEMPTED) makes it reload the weights and redo the item.
final class RolloutWorker: @unchecked Sendable {
  let id: Int
  let model: DecoderModel
  let sampler: Sampler
  let server: ParameterServer
  let queue: WorkQueue<WorkItem>
  let board: RolloutBoard
  let score: RewardScorer
  let format = PromptFormat()
  private(set) var loadedVersion: Int?
  private(set) var preemptions = 0
  private(set) var busySeconds = 0.0
  private var thread: Thread?
  private let done = DispatchSemaphore(value: 0)

  init(id: Int, backend: Backend, modelConfig: DecoderConfig, sampler config: SamplerConfig, server: ParameterServer,
       queue: WorkQueue<WorkItem>, board: RolloutBoard, score: @escaping RewardScorer) throws {
    self.id = id
    model = try DecoderModel(config: modelConfig, backend: backend)
    sampler = try Sampler(model: model, config: config, stopToken: PromptFormat().tokenizer.eosID, padToken: PromptFormat().tokenizer.padID)
    self.server = server
    self.queue = queue
    self.board = board
    self.score = score
  }

  func start() {
    let thread = Thread { [self] in
      // The OS-level name (at most 15 bytes) is what crash and watchdog reports print.
      PluginWatch.nameThread("rlax-worker-\(id)")
      while let item = queue.pop() {
        do {
          board.put(try run(item))
        } catch {
          board.fail(RunPhaseError(phase: "rollout worker \(id) (step \(item.step), prompt \(item.index), version \(item.version))", underlying: error))
          break
        }
      }
      done.signal()
    }
    thread.name = "rollout-worker-\(id)"
    thread.stackSize = 8 << 20
    self.thread = thread
    thread.start()
  }

  func join() { done.wait() }

  func run(_ item: WorkItem) throws -> GroupRollout {
    let start = Date()
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
                            samplerLogprobs: completions.map(\.logprobs), texts: texts, rewards: rewards, worker: id, started: start, seconds: seconds)
      } catch let e as PluginError where e.code == .preempted {
        // The device was taken away mid-item: its buffers may hold anything. Reload and redo.
        preemptions += 1
        loadedVersion = nil
      }
    }
  }
}
