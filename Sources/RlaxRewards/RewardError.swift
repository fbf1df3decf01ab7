import Foundation

/// Why a reward function could not be set up. Each message names what was given and what was
/// expected, so a CLI can print it as is. Failures while *scoring* never throw out of a
/// ``RewardGuard``: they cost the sample a zero reward and a counted warning instead.
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
    }
  }

  /// Same as `description`, so `localizedDescription` is informative too.
  public var errorDescription: String? { description }
}
