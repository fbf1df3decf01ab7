import Foundation

/// Why a projection cannot be made. `description` is a full sentence for the CLI.
public enum SimulationError: Error, Equatable, CustomStringConvertible, LocalizedError {
  case unknownSlice(name: String, known: [String])
  case invalidValue(field: String, value: String, reason: String)
  /// The tensor-parallel degree must divide both head counts.
  case tensorParallelDoesNotDivideHeads(role: String, degree: Int, queryHeads: Int, kvHeads: Int)
  /// A group of this many chips cannot be laid on the slice.
  case groupDoesNotTile(group: Int, slice: String, shape: String)
  /// Bytes per chip needed vs usable (HBM x (1 − reserve)).
  case doesNotFitHBM(role: String, neededBytesPerChip: Double, availableBytesPerChip: Double, detail: String)

  public var description: String {
    switch self {
    case let .unknownSlice(name, known):
      return "unknown slice '\(name)': expected one of \(known.joined(separator: ", ")) (v5p-N counts TensorCores, 2 per chip)"
    case let .invalidValue(field, value, reason):
      return "invalid \(field) = \(value): \(reason)"
    case let .tensorParallelDoesNotDivideHeads(role, degree, q, kv):
      return "\(role) tensor-parallel degree \(degree) does not divide the heads (\(q) query, \(kv) KV): "
        + "each chip must hold whole heads; choose a divisor of \(gcd(q, kv))"
    case let .groupDoesNotTile(group, slice, shape):
      return "a group of \(group) chips does not tile \(slice) (\(shape)): choose a degree that divides the chips along the slice's axes"
    case let .doesNotFitHBM(role, needed, available, detail):
      return "\(role) does not fit HBM: needs \(formatBytes(needed)) per chip (\(Int(needed.rounded())) bytes), "
        + "\(formatBytes(available)) (\(Int(available.rounded())) bytes) available per chip: \(detail)"
    }
  }

  public var errorDescription: String? { description }
}

/// "58.31 GB" (decimal units, as the Cloud TPU docs' GB/s).
func formatBytes(_ bytes: Double) -> String {
  if bytes >= 1e9 { return String(format: "%.2f GB", bytes / 1e9) }
  if bytes >= 1e6 { return String(format: "%.2f MB", bytes / 1e6) }
  if bytes >= 1e3 { return String(format: "%.2f kB", bytes / 1e3) }
  return String(format: "%.0f B", bytes)
}
