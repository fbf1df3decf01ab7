import Foundation

/// What `rlax curate` measured, kept or not: written beside the curated dataset as
/// `OUT.rates.json`, read by `rlax report OUT` for the histogram of pass rates.
public struct CurationRates: Codable, Sendable {
  public var band: [Double]
  public var samples: Int
  public var checkpoint: String
  /// Every drawn problem's pass rate, in draw order.
  public var rates: [Double]

  public init(band: [Double], samples: Int, checkpoint: String, rates: [Double]) {
    self.band = band
    self.samples = samples
    self.checkpoint = checkpoint
    self.rates = rates
  }

  public static func path(forDataset dataset: String) -> String { dataset + ".rates.json" }

  /// Counts of `rates` in ten bins, [0, 0.1) ... [0.9, 1].
  public static func bins(_ rates: [Double]) -> [Int] {
    var bins = [Int](repeating: 0, count: 10)
    for r in rates { bins[min(max(Int(r * 10), 0), 9)] += 1 }
    return bins
  }
}
