import Foundation
import RlaxTasks

/// Scores completions with a deadline, so that a verifier that hangs, throws or crashes costs
/// that sample a zero reward and a counted warning (see ``stats``), never the run.
///
/// Two modes:
/// - **In-process** (``init(_:timeoutSeconds:stats:maxHungThreads:)``, for Swift verifiers):
///   each call runs on a worker thread while the caller waits up to `timeoutSeconds`. A call
///   that throws scores 0 and counts an error. A call that overruns scores 0 and counts a
///   timeout; its thread cannot be stopped (Swift has no safe way to kill a thread), so it is
///   *abandoned*: it runs on, its late result is dropped, and it exits when (if ever) the call
///   returns. At most `maxHungThreads` may be abandoned and still running at once; past that,
///   calls score 0 at once with a timeout rather than spawning more. Finished worker threads are
///   reused. A crash (trap, bad access) in a Swift verifier still ends the process: run
///   untrusted code out of process.
/// - **Out-of-process** (``init(foreign:timeoutSeconds:hostExecutable:maxProcesses:stats:)``,
///   for C functions, which can crash the process): each call goes to an `rlax-reward-host`
///   child through a ``ForeignRewardClient``. On a timeout the child is killed (SIGKILL); when it
///   crashes it is reaped and a crash counted; either way a fresh child serves the next call.
///
/// Thread-safe: several rollout workers may score through one guard at once. In-process calls
/// each get their own worker thread; out-of-process calls each check out a client (a child
/// process) from a pool that grows on demand up to `maxProcesses` children, and callers beyond
/// that wait for a free one (that wait does not count against their deadline).
///
/// NaN or infinite rewards score 0 and count `nonFinite`, and finite rewards outside
/// ``RewardLimits/minReward``...``RewardLimits/maxReward`` (default ±1e6) score 0 and count
/// `outOfRange`, in both modes.
///
/// **Loud failures.** Every failed sample (timeout, crash, error, non-finite or out-of-range
/// value) is reported as it happens: a warning line naming the function and the reason goes to
/// the `warnings` sink (standard error by default), at most 3 lines per 10 s, the next printed
/// line counting the ones held back. And when more than ``RewardLimits/maxFailureShare`` of the
/// last ``RewardLimits/failureWindow`` samples have failed,
/// ``scoreChecked(problem:completion:)`` and ``checkHealth()`` throw
/// ``RewardError/tooManyFailures(_:)`` naming the function, the counts by kind and the last
/// failure, so a run stops instead of training on zeros.
public final class RewardGuard: @unchecked Sendable {
  public enum Mode: Sendable, Equatable { case inProcess, outOfProcess }

  /// The reward function's name, used in warnings.
  public let name: String
  public let timeoutSeconds: Double
  public let stats: RewardStats
  public let mode: Mode
  /// The accepted range and failure limits.
  public let limits: RewardLimits

  private let backend: Backend
  private let window: FailureWindow
  private let warnings: RateLimitedWarnings?
  private enum Backend {
    case inProcess(any RewardFunction, WorkerPool)
    case outOfProcess(ClientPool)
  }

  /// Guards a Swift reward function, run on worker threads of this process.
  /// `warnings` receives the (rate-limited) warning lines; nil prints none.
  public init(_ function: any RewardFunction, timeoutSeconds: Double = 5, stats: RewardStats = RewardStats(),
              maxHungThreads: Int = 64, limits: RewardLimits = RewardLimits(),
              warnings: (@Sendable (String) -> Void)? = RewardGuard.standardErrorWarnings) {
    precondition(timeoutSeconds > 0, "timeoutSeconds must be > 0, got \(timeoutSeconds)")
    self.name = function.name
    self.timeoutSeconds = timeoutSeconds
    self.stats = stats
    self.mode = .inProcess
    self.limits = limits
    self.backend = .inProcess(function, WorkerPool(maxHung: maxHungThreads))
    self.window = FailureWindow(function: function.name, limits: limits)
    self.warnings = warnings.map { RateLimitedWarnings(sink: $0) }
  }

  /// Guards a foreign C function, run in `rlax-reward-host` child processes. Starts the first
  /// child now, so an unusable library, symbol or signature throws here (see
  /// ``ForeignRewardClient/init(config:hostExecutable:startupTimeoutSeconds:)``).
  public init(foreign: ForeignRewardConfig, timeoutSeconds: Double = 5, hostExecutable: String? = nil,
              maxProcesses: Int = max(2, ProcessInfo.processInfo.activeProcessorCount),
              stats: RewardStats = RewardStats(), limits: RewardLimits = RewardLimits(),
              warnings: (@Sendable (String) -> Void)? = RewardGuard.standardErrorWarnings) throws {
    precondition(timeoutSeconds > 0, "timeoutSeconds must be > 0, got \(timeoutSeconds)")
    let first = try ForeignRewardClient(config: foreign, hostExecutable: hostExecutable)
    self.name = "\(foreign.symbol)@\((foreign.library as NSString).lastPathComponent)"
    self.timeoutSeconds = timeoutSeconds
    self.stats = stats
    self.mode = .outOfProcess
    self.limits = limits
    self.window = FailureWindow(function: name, limits: limits)
    self.warnings = warnings.map { RateLimitedWarnings(sink: $0) }
    self.backend = .outOfProcess(ClientPool(first: first, maxClients: max(1, maxProcesses)) {
      try ForeignRewardClient(config: foreign, hostExecutable: first.hostExecutable)
    })
  }

  /// The guard a run's reward config asks for: the foreign function if one is configured
  /// (out of process), else the task's own verifier (in process).
  public convenience init(config: RewardConfig, task: any VerifiableTask, hostExecutable: String? = nil,
                          stats: RewardStats = RewardStats(),
                          warnings: (@Sendable (String) -> Void)? = RewardGuard.standardErrorWarnings) throws {
    try config.validate()
    if let foreign = config.foreign {
      try self.init(foreign: foreign, timeoutSeconds: config.timeoutSeconds, hostExecutable: hostExecutable, stats: stats,
                    limits: config.limits, warnings: warnings)
    } else {
      self.init(TaskReward(task), timeoutSeconds: config.timeoutSeconds, stats: stats, limits: config.limits, warnings: warnings)
    }
  }

  deinit { close() }

  /// The sample's reward: the function's value, or 0 after a timeout, crash, error,
  /// non-finite or out-of-range value (each counted in ``stats`` and warned about). Never
  /// throws, traps on the function's behalf (out of process) or waits much past the deadline;
  /// see ``scoreChecked(problem:completion:)`` for the variant that stops a failing run.
  public func score(problem: Problem, completion: String) -> Double {
    evaluate(problem: problem, completion: completion).reward
  }

  /// Like ``score(problem:completion:)``, but throws ``RewardError/tooManyFailures(_:)`` when
  /// more than ``RewardLimits/maxFailureShare`` of the last ``RewardLimits/failureWindow``
  /// samples (this one included) failed, and from then on at once. What a run's workers call.
  public func scoreChecked(problem: Problem, completion: String) throws -> Double {
    try checkHealth()
    let reward = evaluate(problem: problem, completion: completion).reward
    try checkHealth()
    return reward
  }

  /// Throws ``RewardError/tooManyFailures(_:)`` once too many recent samples have failed.
  public func checkHealth() throws { try window.check() }

  /// Like ``score(problem:completion:)`` but says what happened.
  public func evaluate(problem: Problem, completion: String) -> RewardOutcome {
    var outcome: RewardOutcome
    switch backend {
    case .inProcess(let function, let pool):
      outcome = pool.run(timeoutSeconds: timeoutSeconds) { try function.score(problem: problem, completion: completion) }
    case .outOfProcess(let pool):
      outcome = pool.evaluate(prompt: problem.prompt, completion: completion, answer: problem.answer,
                              timeoutSeconds: timeoutSeconds)
    }
    if case .value(let v) = outcome, !(limits.minReward...limits.maxReward).contains(v) {
      outcome = .outOfRange(v)
    }
    record(outcome, problem: problem)
    return outcome
  }

  /// Abandoned (timed-out, still running) in-process worker threads; 0 out of process.
  public var hungThreads: Int {
    if case .inProcess(_, let pool) = backend { return pool.hung }
    return 0
  }

  /// Child processes running now (out of process); 0 in process.
  public var runningProcesses: Int {
    if case .outOfProcess(let pool) = backend { return pool.runningProcesses }
    return 0
  }

  /// Ends the child processes (out of process). Later calls score 0 with an error.
  public func close() {
    if case .outOfProcess(let pool) = backend { pool.close() }
  }

  private func record(_ outcome: RewardOutcome, problem: Problem) {
    stats.recordScored()
    let on = "on prompt \(String(problem.prompt.prefix(40)).debugDescription)"
    let failure: (RewardStats.Warning, String)?
    switch outcome {
    case .value:
      failure = nil
    case .nonFinite(let v):
      failure = (.nonFinite, "reward \(name.debugDescription) returned \(v) \(on); scored 0 (rewards must be finite)")
    case .outOfRange(let v):
      failure = (.outOfRange, "reward \(name.debugDescription) returned \(v) \(on), outside the allowed \(limits.minReward)...\(limits.maxReward) "
                   + "(rl.reward.minReward, rl.reward.maxReward); scored 0")
    case .timedOut:
      let what = mode == .inProcess ? "its thread was abandoned" : "the reward host was killed and will be restarted"
      failure = (.timeout, "reward \(name.debugDescription) timed out after \(timeoutSeconds) s \(on); scored 0 (\(what))")
    case .crashed(let how):
      failure = (.crash, "reward \(name.debugDescription) crashed: the reward host \(how) \(on); scored 0 (restarting it)")
    case .failed(let why):
      failure = (.error, "reward \(name.debugDescription) failed \(on): \(why); scored 0")
    }
    if let (kind, message) = failure {
      stats.record(kind, message)
      warnings?.warn(message)
    }
    window.record(failure?.0, message: failure?.1)
  }
}

/// Reusable worker threads for in-process calls; a thread whose call overran is abandoned.
final class WorkerPool: @unchecked Sendable {
  private let lock = NSLock()
  private var idle: [Worker] = []
  private var hungCount = 0
  let maxHung: Int

  init(maxHung: Int) { self.maxHung = maxHung }

  deinit {
    // Idle threads wait for work forever; tell them to end. (Abandoned ones hold the pool,
    // so none is running when this runs.)
    for worker in idle { worker.submit { false } }
  }

  var hung: Int { lock.withLock { hungCount } }

  func run(timeoutSeconds: Double, _ body: @escaping () throws -> Double) -> RewardOutcome {
    let worker: Worker
    lock.lock()
    if hungCount >= maxHung {
      lock.unlock()
      return .timedOut
    }
    worker = idle.popLast() ?? Worker()
    lock.unlock()

    let call = Call()
    worker.submit { [self] in
      let result = Result { try body() }
      call.condition.lock()
      defer { call.condition.unlock() }
      if call.abandoned {
        lock.withLock { hungCount -= 1 }
        return false  // this thread's caller gave up on it: let the thread end
      }
      call.result = result
      call.condition.signal()
      return true
    }

    let deadline = timeoutSeconds.isFinite ? Date(timeIntervalSinceNow: timeoutSeconds) : Date.distantFuture
    call.condition.lock()
    while call.result == nil && Date() < deadline {
      _ = call.condition.wait(until: deadline)
    }
    guard let result = call.result else {
      call.abandoned = true
      lock.withLock { hungCount += 1 }
      call.condition.unlock()
      return .timedOut
    }
    call.condition.unlock()
    lock.withLock { idle.append(worker) }
    switch result {
    case .success(let value): return value.isFinite ? .value(value) : .nonFinite(value)
    case .failure(let error): return .failed("\(error)")
    }
  }

  private final class Call: @unchecked Sendable {
    let condition = NSCondition()
    var result: Result<Double, Error>?
    var abandoned = false
  }

  /// A thread running submitted jobs one at a time; it ends when a job returns false.
  private final class Worker: @unchecked Sendable {
    private let condition = NSCondition()
    private var job: (() -> Bool)?

    init() {
      let thread = Thread { [self] in loop() }
      thread.name = "rlax-reward-worker"
      thread.stackSize = 8 << 20
      thread.start()
    }

    func submit(_ job: @escaping () -> Bool) {
      condition.lock()
      self.job = job
      condition.signal()
      condition.unlock()
    }

    private func loop() {
      while true {
        condition.lock()
        while job == nil { condition.wait() }
        let next = job!
        job = nil
        condition.unlock()
        if !next() { return }
      }
    }
  }
}

/// ForeignRewardClients checked out one per concurrent call, created on demand.
final class ClientPool: @unchecked Sendable {
  private let condition = NSCondition()
  private var idle: [ForeignRewardClient]
  private var all: [ForeignRewardClient]
  private var creating = 0
  private var closed = false
  private let maxClients: Int
  private let make: () throws -> ForeignRewardClient

  init(first: ForeignRewardClient, maxClients: Int, make: @escaping () throws -> ForeignRewardClient) {
    idle = [first]
    all = [first]
    self.maxClients = maxClients
    self.make = make
  }

  var runningProcesses: Int {
    condition.withLock { all }.reduce(0) { $0 + ($1.processIdentifier == nil ? 0 : 1) }
  }

  func evaluate(prompt: String, completion: String, answer: String, timeoutSeconds: Double) -> RewardOutcome {
    let client: ForeignRewardClient
    condition.lock()
    while idle.isEmpty && all.count + creating >= maxClients && !closed { condition.wait() }
    if closed {
      condition.unlock()
      return .failed("the reward guard is closed")
    }
    if let free = idle.popLast() {
      condition.unlock()
      client = free
    } else {
      creating += 1
      condition.unlock()
      do {
        client = try make()
      } catch {
        condition.withLock {
          creating -= 1
          condition.signal()
        }
        return .failed("could not start another reward host: \(error)")
      }
      condition.withLock {
        creating -= 1
        all.append(client)
      }
    }
    let outcome = client.evaluate(prompt: prompt, completion: completion, answer: answer, timeoutSeconds: timeoutSeconds)
    condition.withLock {
      idle.append(client)
      condition.signal()
    }
    return outcome
  }

  func close() {
    let clients: [ForeignRewardClient] = condition.withLock {
      closed = true
      condition.broadcast()
      return all
    }
    clients.forEach { $0.close() }
  }
}
