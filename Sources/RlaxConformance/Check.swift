import RlaxPlugins

/// The outcome of one conformance check.
public enum CheckStatus: Sendable, Equatable {
  case passed
  case failed(String)
  /// Not applicable (an optional op the plugin leaves NULL, a device not present, ...).
  case skipped(String)
}

public struct CheckResult: Sendable, Equatable {
  public var name: String
  public var status: CheckStatus
  public init(name: String, status: CheckStatus) {
    self.name = name
    self.status = status
  }
  public var isFailure: Bool { if case .failed = status { return true } else { return false } }
}

/// Everything the suite found about one plugin file.
public struct ConformanceReport: Sendable {
  public var path: String
  public var manifest: PluginManifest?
  public var results: [CheckResult]
  public init(path: String, manifest: PluginManifest?, results: [CheckResult]) {
    self.path = path
    self.manifest = manifest
    self.results = results
  }
  public var failures: [CheckResult] { results.filter(\.isFailure) }
  public var passed: Bool { failures.isEmpty }
}

/// A failed expectation inside a check.
struct CheckFailure: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Collects results; a thrown error or a failed expectation fails only its own check.
/// `observer` hears each check start and finish as it happens (the CLI streams them from a
/// child process, so a plugin that crashes is reported with the check it crashed in).
final class CheckRecorder {
  private(set) var results: [CheckResult] = []
  let observer: ConformanceObserver?

  init(observer: ConformanceObserver?) { self.observer = observer }

  func check(_ name: String, _ body: () throws -> CheckStatus) {
    observer?.started(name)
    let status: CheckStatus
    do {
      status = try body()
    } catch let PluginError.unsupported(_, operation) {
      status = .skipped("\(operation) not supported")
    } catch {
      status = .failed("\(error)")
    }
    record(name, status)
  }

  func record(_ name: String, _ status: CheckStatus) {
    let result = CheckResult(name: name, status: status)
    results.append(result)
    observer?.finished(result)
  }
}

/// Hears the suite's progress.
public protocol ConformanceObserver: AnyObject {
  func loaded(_ manifest: PluginManifest)
  func started(_ check: String)
  func finished(_ result: CheckResult)
}

func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
  if !condition { throw CheckFailure(message()) }
}

/// Runs `body`, which must fail with a plugin error of `code` and a non-empty message.
func expectError(_ code: PluginErrorCode, _ what: String, _ body: () throws -> Void) throws {
  do {
    try body()
  } catch let PluginError.failed(_, _, found, message) {
    try expect(found == code, "\(what): expected \(code), got \(found): \(message)")
    try expect(!message.trimmingCharacters(in: .whitespaces).isEmpty, "\(what): \(code) with an empty message")
    return
  }
  throw CheckFailure("\(what): expected a \(code) error, the call succeeded")
}

/// Deterministic random numbers for reproducible inputs (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
    (0..<n).map { _ in Double.random(in: lo..<hi, using: &self) }
  }
}

/// max |got - want| / max(1, max |want|): an error relative to the scale of the result.
func scaledError(_ got: [Float], _ want: [Double]) -> Double {
  precondition(got.count == want.count)
  var err = 0.0, scale = 1.0
  for (g, w) in zip(got, want) {
    if w.isInfinite && Double(g) == w { continue }
    err = max(err, abs(Double(g) - w))
    scale = max(scale, abs(w))
  }
  return err / scale
}
