import Foundation

/// A comparison's arms, seeds and common flags, and where each run lives:
///
///     DIR/plan.json                  this plan (a resumed comparison must ask for the same)
///     DIR/seed-S/warm-start/         the starting model of seed S, shared by every arm
///     DIR/seed-S/ARM/                the run directory of ARM at seed S
///     DIR/comparison.json, .md       the statistics
///
/// Every arm of one seed starts from the same warm start, sees the same prompts and sample
/// streams (the controller derives them from the seed) and is evaluated on the same held-out
/// problems with the same sampling seeds: the arms are paired by design.
public struct ComparisonPlan: Codable, Equatable, Sendable {
  public var arms: [Arm]
  public var baseline: String
  public var seeds: [UInt64]
  /// `rlax train` flags every run gets, before its arm's.
  public var commonFlags: [String]

  public init(arms: [Arm], baseline: String?, seeds: [UInt64], commonFlags: [String]) throws {
    var seen = Set<String>()
    for arm in arms where !seen.insert(arm.name).inserted { throw CompareError.duplicateArm(arm.name) }
    let base = baseline ?? arms.first?.name ?? ""
    guard arms.contains(where: { $0.name == base }) else { throw CompareError.unknownBaseline(base, arms: arms.map(\.name)) }
    self.arms = arms
    self.baseline = base
    self.seeds = seeds
    self.commonFlags = commonFlags
  }

  public static func seedDirectory(_ dir: URL, seed: UInt64) -> URL { dir.appendingPathComponent("seed-\(seed)") }
  public static func warmStart(_ dir: URL, seed: UInt64) -> URL { seedDirectory(dir, seed: seed).appendingPathComponent("warm-start") }
  public static func runDirectory(_ dir: URL, seed: UInt64, arm: String) -> URL { seedDirectory(dir, seed: seed).appendingPathComponent(arm) }

  /// Saves the plan in `dir`, or checks that the one saved there is this one.
  public func claim(_ dir: URL) throws {
    let file = dir.appendingPathComponent("plan.json")
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    if let data = FileManager.default.contents(atPath: file.path) {
      let saved = try JSONDecoder().decode(ComparisonPlan.self, from: data)
      guard saved == self else {
        func brief(_ p: ComparisonPlan) -> String { "arms \(p.arms.map(\.name)), seeds \(p.seeds), flags \(p.commonFlags)" }
        throw CompareError.planDiffers(path: file.path, saved: brief(saved), requested: brief(self))
      }
      return
    }
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    try encoder.encode(self).write(to: file, options: .atomic)
  }
}
