import Foundation

/// Why a reward function could not be set up, or why a run must stop scoring with it. Each
/// message names what was given and what was expected, so a CLI can print it as is. A single
/// failure while *scoring* never throws: it costs the sample a zero reward, a counted warning
/// and a warning line; only when too many recent samples failed does
/// ``RewardGuard/scoreChecked(problem:completion:)`` throw ``tooManyFailures(_:)``.
public enum RewardError: Error, Equatable, CustomStringConvertible, LocalizedError {
  /// A foreign signature string that does not parse; `reason` names the position and what was
  /// expected there.
  case badSignature(signature: String, reason: String)
  /// `dlopen` refused the library; `reason` is `dlerror()` (or "no such file").
  case libraryNotLoadable(path: String, reason: String)
  /// The library loaded but exports no symbol of this name.
  case symbolMissing(path: String, symbol: String)
  /// libffi refused the call interface (`ffi_prep_cif` status).
  case ffiPreparationFailed(symbol: String, status: Int)
  /// The `rlax-reward-host` executable was not found; `searched` lists the paths tried.
  case hostNotFound(searched: [String])
  /// The reward host process could not be started or did not complete its handshake.
  case hostStartFailed(reason: String)
  /// A configuration value is unusable.
  case invalidConfig(field: String, reason: String)
  /// More than the configured share of the most recent samples failed (see ``RewardLimits``).
  case tooManyFailures(RewardFailureSummary)

  public var description: String {
    switch self {
    case .badSignature(let signature, let reason):
      return "signature \(signature.debugDescription): \(reason)"
    case .libraryNotLoadable(let path, let reason):
      return "cannot load reward library \(path.debugDescription): \(reason)"
    case .symbolMissing(let path, let symbol):
      return "reward library \(path.debugDescription) has no symbol \(symbol.debugDescription)"
    case .ffiPreparationFailed(let symbol, let status):
      return "libffi cannot prepare a call to \(symbol.debugDescription) (ffi_prep_cif status \(status))"
    case .hostNotFound(let searched):
      return "reward host executable not found; looked for: \(searched.joined(separator: ", ")) (set RLAX_REWARD_HOST or build the rlax-reward-host product)"
    case .hostStartFailed(let reason):
      return "reward host failed to start: \(reason)"
    case .invalidConfig(let field, let reason):
      return "reward config \(field): \(reason)"
    case .tooManyFailures(let summary):
      return summary.description
    }
  }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}

/// Why a run stopped scoring: which function failed on how many of the recent samples, how,
/// and the last failure's message.
public struct RewardFailureSummary: Equatable, Sendable, CustomStringConvertible {
  /// The reward function's name, e.g. `"score@librewards.so"`.
  public var function: String
  /// Failed samples among the last `samples`.
  public var failed: Int
  /// Samples looked at: the window, or fewer at the start of a run.
  public var samples: Int
  /// The configured window and share (``RewardLimits``).
  public var window: Int
  public var maxShare: Double
  /// Failures in the window by kind (``RewardStats/Warning`` raw values), only kinds that occurred.
  public var byKind: [String: Int]
  /// The most recent failure's warning message.
  public var last: String

  public init(function: String, failed: Int, samples: Int, window: Int, maxShare: Double, byKind: [String: Int], last: String) {
    self.function = function
    self.failed = failed
    self.samples = samples
    self.window = window
    self.maxShare = maxShare
    self.byKind = byKind
    self.last = last
  }

  /// E.g. `reward function "score@librewards.so" failed on 154 of the last 256 samples (60%;
  /// the limit is more than 50% of 256, rl.reward.maxFailureShare and rl.reward.failureWindow):
  /// timeouts 150, crashes 4; last: ...`.
  public var description: String {
    let percent = { (x: Double) in String(format: "%.0f%%", x * 100) }
    let order: [(String, String)] = [("timeout", "timeouts"), ("crash", "crashes"), ("error", "errors"),
                                     ("nonFinite", "non-finite"), ("outOfRange", "out of range")]
    let kinds = order.compactMap { key, label in byKind[key].flatMap { $0 > 0 ? "\(label) \($0)" : nil } }
    return "reward function \(function.debugDescription) failed on \(failed) of the last \(samples) samples "
      + "(\(percent(Double(failed) / Double(max(samples, 1)))); the run stops above \(percent(maxShare)) of \(window): "
      + "rl.reward.maxFailureShare, rl.reward.failureWindow): \(kinds.joined(separator: ", ")); last: \(last)"
  }
}
