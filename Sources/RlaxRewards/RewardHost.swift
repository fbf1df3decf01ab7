import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The reward host protocol, spoken by `rlax-reward-host` (the child) and
/// ``ForeignRewardClient`` (the parent) as JSON lines.
///
/// The child is started as
/// `rlax-reward-host --library PATH --symbol NAME --signature SIG`. It first writes one
/// handshake line: `{"ready":true}` once the function is bound, or `{"error":"..."}` (and exits
/// with status 1) if the library, symbol or signature is unusable. Then, for each request line
/// `{"prompt":"..","completion":"..","answer":".."}` on stdin (absent fields are ""), it writes
/// one reply line: `{"reward":x}`, where x is a JSON number or one of the strings `"nan"`,
/// `"inf"`, `"-inf"`, or `{"error":"..."}` for a request it cannot read. It exits 0 at the end
/// of stdin.
///
/// Only protocol lines reach the child's stdout: before loading the library it moves fd 1 to
/// stderr, so a library that prints cannot corrupt the stream.
public enum RewardHostProtocol {
  public struct Request: Codable, Equatable, Sendable {
    public var prompt: String
    public var completion: String
    public var answer: String

    public init(prompt: String, completion: String, answer: String) {
      self.prompt = prompt
      self.completion = completion
      self.answer = answer
    }

    private enum CodingKeys: String, CodingKey { case prompt, completion, answer }

    public init(from decoder: Decoder) throws {
      let c = try decoder.container(keyedBy: CodingKeys.self)
      prompt = try c.decodeIfPresent(String.self, forKey: .prompt) ?? ""
      completion = try c.decodeIfPresent(String.self, forKey: .completion) ?? ""
      answer = try c.decodeIfPresent(String.self, forKey: .answer) ?? ""
    }
  }

  /// A handshake or reply line; exactly one field is set.
  public struct Reply: Codable, Equatable, Sendable {
    public var ready: Bool?
    public var reward: Double?
    public var error: String?

    public init(ready: Bool? = nil, reward: Double? = nil, error: String? = nil) {
      self.ready = ready
      self.reward = reward
      self.error = error
    }
  }

  public static func encoder() -> JSONEncoder {
    let e = JSONEncoder()
    e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    e.outputFormatting = [.sortedKeys]
    return e
  }

  public static func decoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return d
  }

  /// One encoded line, newline included.
  public static func line<T: Encodable>(_ value: T) -> [UInt8] {
    var bytes = [UInt8]((try? encoder().encode(value)) ?? Data(#"{"error":"unencodable reply"}"#.utf8))
    bytes.append(0x0A)
    return bytes
  }
}

/// The child's side of the protocol: `rlax-reward-host`'s whole program.
public enum RewardHost {
  public static let usage = "usage: rlax-reward-host --library PATH --symbol NAME --signature SIG\n"
    + "reads JSON lines {\"prompt\",\"completion\",\"answer\"} on stdin, writes {\"reward\": x} or {\"error\": \"...\"} lines"

  /// Runs the host with `arguments` (without the program name); returns the exit status.
  public static func main(arguments: [String]) -> Int32 {
    if arguments.contains("--help") || arguments.contains("-h") {
      try? FileHandle.standardError.write(contentsOf: Data((usage + "\n").utf8))
      return 0
    }
    // The protocol keeps the real stdout; fd 1 (C's and Swift's stdout) goes to stderr.
    let out = dup(1)
    if out >= 0 { _ = dup2(2, 1) }
    let protocolFD = out >= 0 ? out : 1
    func send(_ reply: RewardHostProtocol.Reply) { writeAll(protocolFD, RewardHostProtocol.line(reply)) }

    var library: String?, symbol: String?, signature: String?
    var i = 0
    while i < arguments.count {
      let flag = arguments[i]
      let value = i + 1 < arguments.count ? arguments[i + 1] : nil
      switch flag {
      case "--library": library = value
      case "--symbol": symbol = value
      case "--signature": signature = value
      default:
        send(.init(error: "unknown argument \(flag.debugDescription); \(usage)"))
        return 2
      }
      guard value != nil else {
        send(.init(error: "\(flag) needs a value; \(usage)"))
        return 2
      }
      i += 2
    }
    guard let library, let symbol, let signature else {
      send(.init(error: "--library, --symbol and --signature are all required; \(usage)"))
      return 2
    }

    disableCoreDumps()
    exitWhenOrphaned()

    let function: ForeignFunction
    do {
      function = try ForeignFunction(library: library, symbol: symbol, signature: signature)
    } catch {
      send(.init(error: "\(error)"))
      return 1
    }
    send(.init(ready: true))

    let decoder = RewardHostProtocol.decoder()
    while let line = readLine(strippingNewline: true) {
      if line.allSatisfy(\.isWhitespace) { continue }
      do {
        let request = try decoder.decode(RewardHostProtocol.Request.self, from: Data(line.utf8))
        send(.init(reward: function.call(prompt: request.prompt, completion: request.completion, answer: request.answer)))
      } catch {
        send(.init(error: "unreadable request: \(error)"))
      }
    }
    return 0
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          exit(3)  // the parent is gone
        }
        offset += n
      }
    }
  }

  /// A crashing library should not leave core files behind (nor spend time writing them).
  private static func disableCoreDumps() {
    var limit = rlimit(rlim_cur: 0, rlim_max: 0)
    _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &limit)
  }

  /// A child stuck in a hung C call would outlive a parent that died without killing it:
  /// a watchdog thread exits the process once it is reparented.
  private static func exitWhenOrphaned() {
    let parent = getppid()
    let watchdog = Thread {
      while true {
        usleep(250_000)
        if getppid() != parent { _exit(4) }
      }
    }
    watchdog.name = "rlax-reward-host-watchdog"
    watchdog.start()
  }
}

/// Finds the `rlax-reward-host` executable.
public enum RewardHostLocator {
  public static let executableName = "rlax-reward-host"

  /// The explicit path if given; else `$RLAX_REWARD_HOST`; else `rlax-reward-host` in the
  /// directory of the running executable (where SwiftPM puts every product, and where the test
  /// bundle lives under `swift test`).
  /// - Throws: ``RewardError/hostNotFound(searched:)`` listing what was tried.
  public static func find(explicit: String? = nil,
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
    var candidates: [String] = []
    if let explicit {
      candidates = [explicit]
    } else {
      if let fromEnvironment = environment["RLAX_REWARD_HOST"], !fromEnvironment.isEmpty { candidates.append(fromEnvironment) }
      candidates.append(besideExecutable)
    }
    for path in candidates where FileManager.default.isExecutableFile(atPath: path) { return path }
    throw RewardError.hostNotFound(searched: candidates)
  }

  /// `rlax-reward-host` beside the running executable.
  public static var besideExecutable: String {
    let selfExe = URL(fileURLWithPath: "/proc/self/exe")
    let exe = FileManager.default.fileExists(atPath: selfExe.path)
      ? selfExe.resolvingSymlinksInPath()
      : URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0])
    return exe.deletingLastPathComponent().appendingPathComponent(executableName).path
  }
}
