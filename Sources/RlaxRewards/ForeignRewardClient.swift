import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// What one guarded reward call came to.
public enum RewardOutcome: Sendable, Equatable {
  /// The function's reward, finite.
  case value(Double)
  /// The function returned NaN or an infinity (scored 0).
  case nonFinite(Double)
  /// The function returned a finite value outside the guard's ``RewardLimits`` (scored 0).
  case outOfRange(Double)
  /// No answer within the deadline (scored 0).
  case timedOut
  /// The reward host process died; the text says how, e.g. "killed by signal 11 (Segmentation fault)".
  case crashed(String)
  /// The function threw, the host replied with an error, or the host could not be (re)started.
  case failed(String)

  /// The reward the sample gets: the value, or 0 for every other outcome.
  public var reward: Double {
    if case .value(let v) = self { return v }
    return 0
  }
}

/// The parent's side of the reward host protocol (see ``RewardHostProtocol``): one
/// `rlax-reward-host` child process scoring with one foreign function.
///
/// Requests on one client are serialised (a lock; concurrent callers wait their turn — a
/// ``RewardGuard`` gives each concurrent caller its own client instead). When an answer does
/// not come within the deadline the child is killed with SIGKILL; when the child dies (a crash
/// in the library: EOF on its socket) it is reaped. Either way the next request starts a fresh
/// child, whose start-up does not count against that request's deadline.
public final class ForeignRewardClient: @unchecked Sendable {
  public let config: ForeignRewardConfig
  public let hostExecutable: String
  public let startupTimeoutSeconds: Double

  private let lock = NSLock()
  private var child: HostChild?
  private var closed = false

  /// Starts the child and waits for its handshake, so a bad library, symbol or signature is
  /// reported here.
  /// - Parameters:
  ///   - hostExecutable: the `rlax-reward-host` path; nil finds it with ``RewardHostLocator``.
  ///   - startupTimeoutSeconds: how long a (re)start may take, library constructors included.
  /// - Throws: ``RewardError/badSignature(signature:reason:)``,
  ///   ``RewardError/libraryNotLoadable(path:reason:)`` (missing file),
  ///   ``RewardError/hostNotFound(searched:)``, or ``RewardError/hostStartFailed(reason:)``
  ///   carrying the host's own message (an unloadable library naming its path and `dlerror()`,
  ///   a missing symbol naming it).
  public init(config: ForeignRewardConfig, hostExecutable: String? = nil, startupTimeoutSeconds: Double = 10) throws {
    try config.validate()
    if config.library.contains("/") && !FileManager.default.fileExists(atPath: config.library) {
      throw RewardError.libraryNotLoadable(path: config.library, reason: "no such file")
    }
    self.config = config
    self.hostExecutable = try RewardHostLocator.find(explicit: hostExecutable)
    self.startupTimeoutSeconds = startupTimeoutSeconds
    child = try startChild()
  }

  deinit { close() }

  /// The running child's process id, if one is running.
  public var processIdentifier: pid_t? { lock.withLock { child?.pid } }

  /// Scores one sample, waiting at most `timeoutSeconds` for the answer.
  public func evaluate(prompt: String, completion: String, answer: String, timeoutSeconds: Double) -> RewardOutcome {
    lock.lock()
    defer { lock.unlock() }
    if closed { return .failed("the reward client is closed") }
    if child == nil {
      do { child = try startChild() } catch { return .failed("could not restart the reward host: \(error)") }
    }
    let current = child!
    let deadline = Deadline(seconds: timeoutSeconds)
    let request = RewardHostProtocol.line(RewardHostProtocol.Request(prompt: prompt, completion: completion, answer: answer))

    switch current.send(request, deadline: deadline) {
    case .ok: break
    case .timedOut:
      current.kill()
      child = nil
      return .timedOut
    case .closed:
      child = nil
      return .crashed(current.reap())
    }
    switch current.readLine(deadline: deadline) {
    case .timedOut:
      current.kill()
      child = nil
      return .timedOut
    case .eof:
      child = nil
      return .crashed(current.reap())
    case .line(let bytes):
      guard let reply = try? RewardHostProtocol.decoder().decode(RewardHostProtocol.Reply.self, from: Data(bytes)) else {
        // The stream is out of step; start afresh.
        current.kill()
        child = nil
        return .failed("unreadable reply from the reward host: \(String(decoding: bytes.prefix(200), as: UTF8.self).debugDescription)")
      }
      if let error = reply.error { return .failed(error) }
      guard let reward = reply.reward else { return .failed("reward host reply has neither reward nor error") }
      return reward.isFinite ? .value(reward) : .nonFinite(reward)
    }
  }

  /// Ends the child (closing its stdin, then SIGKILL if it lingers). Later calls fail.
  public func close() {
    lock.lock()
    defer { lock.unlock() }
    closed = true
    child?.shutDown()
    child = nil
  }

  private func startChild() throws -> HostChild {
    let child = try HostChild.spawn(executable: hostExecutable, arguments: [
      "--library", config.library, "--symbol", config.symbol, "--signature", config.signature,
    ])
    switch child.readLine(deadline: Deadline(seconds: startupTimeoutSeconds)) {
    case .timedOut:
      child.kill()
      throw RewardError.hostStartFailed(reason: "no handshake within \(startupTimeoutSeconds) s")
    case .eof:
      throw RewardError.hostStartFailed(reason: "the host \(child.reap()) before its handshake")
    case .line(let bytes):
      let reply = try? RewardHostProtocol.decoder().decode(RewardHostProtocol.Reply.self, from: Data(bytes))
      if reply?.ready == true { return child }
      child.kill()
      throw RewardError.hostStartFailed(reason: reply?.error ?? "unexpected handshake \(String(decoding: bytes, as: UTF8.self).debugDescription)")
    }
  }
}

/// A monotonic deadline; infinite seconds never pass.
struct Deadline {
  let end: UInt64?

  init(seconds: Double) {
    if seconds.isFinite && seconds < 1e9 {
      end = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
    } else {
      end = nil
    }
  }

  /// Milliseconds left for poll(2): -1 for no deadline, 0 once passed.
  var pollTimeout: Int32 {
    guard let end else { return -1 }
    let now = DispatchTime.now().uptimeNanoseconds
    guard end > now else { return 0 }
    return Int32(min(UInt64(Int32.max), (end - now + 999_999) / 1_000_000))
  }

  var passed: Bool {
    guard let end else { return false }
    return DispatchTime.now().uptimeNanoseconds >= end
  }
}

/// One `rlax-reward-host` child, talking over a Unix socket pair (its stdin and stdout). A
/// socket rather than pipes so that writing to a dead child gives EPIPE via MSG_NOSIGNAL
/// instead of a process-wide SIGPIPE. Not thread-safe: its client serialises use.
final class HostChild {
  let pid: pid_t
  private let fd: Int32
  private var buffer: [UInt8] = []
  private var reaped = false

  enum SendResult { case ok, timedOut, closed }
  enum LineResult { case line([UInt8]), timedOut, eof }

  private init(pid: pid_t, fd: Int32) {
    self.pid = pid
    self.fd = fd
  }

  deinit {
    if !reaped { shutDown() }
    Glibc.close(fd)
  }

  static func spawn(executable: String, arguments: [String]) throws -> HostChild {
    var fds: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
      throw RewardError.hostStartFailed(reason: "socketpair: \(String(cString: strerror(errno)))")
    }
    let (parentEnd, childEnd) = (fds[0], fds[1])
    defer { Glibc.close(childEnd) }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    // dup2 clears close-on-exec on the copies; the originals close at exec.
    posix_spawn_file_actions_adddup2(&actions, childEnd, 0)
    posix_spawn_file_actions_adddup2(&actions, childEnd, 1)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

    // The Swift runtime's crash backtracer would spend seconds symbolicating a crash in the
    // user's library; the parent only needs to see the child die.
    var environment = ProcessInfo.processInfo.environment
    environment["SWIFT_BACKTRACE"] = "enable=no"
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      argv.forEach { free($0) }
      envp.forEach { free($0) }
    }

    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
    guard status == 0 else {
      Glibc.close(parentEnd)
      throw RewardError.hostStartFailed(reason: "cannot run \(executable): \(String(cString: strerror(status)))")
    }
    return HostChild(pid: pid, fd: parentEnd)
  }

  func send(_ bytes: [UInt8], deadline: Deadline) -> SendResult {
    var offset = 0
    while offset < bytes.count {
      let n = bytes.withUnsafeBytes { raw in
        Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
      }
      if n >= 0 {
        offset += n
        continue
      }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK:
        switch wait(for: Int16(POLLOUT), deadline: deadline) {
        case .ready: continue
        case .timedOut: return .timedOut
        case .hungUp: return .closed
        }
      default: return .closed
      }
    }
    return .ok
  }

  func readLine(deadline: Deadline) -> LineResult {
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
      if let newline = buffer.firstIndex(of: 0x0A) {
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        return .line(line)
      }
      let n = chunk.withUnsafeMutableBytes { raw in
        recv(fd, raw.baseAddress!, raw.count, Int32(MSG_DONTWAIT))
      }
      if n > 0 {
        buffer.append(contentsOf: chunk[..<n])
        continue
      }
      if n == 0 { return .eof }
      switch errno {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK:
        switch wait(for: Int16(POLLIN), deadline: deadline) {
        case .ready, .hungUp: continue  // a hang-up still lets recv drain what is left, then 0
        case .timedOut: return .timedOut
        }
      default: return .eof
      }
    }
  }

  private enum Readiness { case ready, timedOut, hungUp }

  private func wait(for events: Int16, deadline: Deadline) -> Readiness {
    while true {
      var entry = pollfd(fd: fd, events: events, revents: 0)
      let n = poll(&entry, 1, deadline.pollTimeout)
      if n < 0 {
        if errno == EINTR { continue }
        return .hungUp
      }
      if n == 0 { return deadline.passed || deadline.pollTimeout == 0 ? .timedOut : .ready }
      if entry.revents & events != 0 { return .ready }
      return .hungUp
    }
  }

  /// SIGKILL and reap.
  func kill() {
    guard !reaped else { return }
    _ = Glibc.kill(pid, SIGKILL)
    _ = reap()
  }

  /// Closes the child's stdin side so it exits, gives it a moment, then kills it.
  func shutDown() {
    guard !reaped else { return }
    Glibc.shutdown(fd, Int32(SHUT_RDWR))
    for _ in 0..<20 {
      if let status = tryReap() { _ = describe(status); return }
      usleep(5_000)
    }
    kill()
  }

  /// Waits for the child (killing it if it is still alive after a short grace, as after an EOF
  /// it normally is not) and describes how it ended.
  @discardableResult
  func reap() -> String {
    for _ in 0..<100 {
      if let status = tryReap() { return describe(status) }
      usleep(2_000)
    }
    _ = Glibc.kill(pid, SIGKILL)
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    reaped = true
    return describe(status)
  }

  private func tryReap() -> Int32? {
    guard !reaped else { return nil }
    var status: Int32 = 0
    let r = waitpid(pid, &status, WNOHANG)
    if r == pid {
      reaped = true
      return status
    }
    if r < 0 && errno != EINTR {
      reaped = true  // not our child any more (someone else reaped it)
      return 0
    }
    return nil
  }

  private func describe(_ status: Int32) -> String {
    let signal = status & 0x7f
    if signal == 0 { return "exited with status \((status >> 8) & 0xff)" }
    return "was killed by signal \(signal) (\(String(cString: strsignal(signal))))"
  }
}
