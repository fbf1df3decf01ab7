import RlaxConfig

/// Online curation (RLAX's dataset curation, in the run): a prompt whose pass rate, measured by
/// its own group of rollouts, is outside `band` is skipped and never trained on; the step draws
/// refill prompts in its place (up to rl.maxRefills rounds, as dynamic sampling does). The rate
/// is the group's share of samples with reward >= 1. Deterministic: refills are issued by
/// prompt index, so which prompts a step trains on depends on the seed alone. The run counts
/// the skipped groups (summary.json accounting.skippedByCuration, metrics.jsonl
/// curationSkipped).
///
/// Problems every sample solves, or none does, give group-relative algorithms zero advantage;
/// a band such as [0.1, 0.9] spends the step's updates on the prompts that carry signal, for
/// any algorithm (DAPO's own dynamic sampling filters the same all-or-nothing groups).
public struct CurationConfig: Codable, Equatable, Sendable, ValidatableConfig {
  /// [lo, hi] of pass rates to train on; empty: no curation.
  public var band: [Double] = []
  public init() {}

  public var isActive: Bool { !band.isEmpty }

  /// Whether a group with these rewards is inside the band.
  public func admits(rewards: [Double]) -> Bool {
    guard isActive else { return true }
    let rate = Double(rewards.filter { $0 >= 1 }.count) / Double(max(rewards.count, 1))
    return band[0] <= rate && rate <= band[1]
  }

  public func validate(path: String) throws {
    guard isActive else { return }
    guard band.count == 2, band.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }), band[0] <= band[1] else {
      throw ConfigError.invalid(path: "\(path).band", reason: "expected [lo, hi] with 0 <= lo <= hi <= 1 (or [] for no curation), got \(band)")
    }
  }
}
