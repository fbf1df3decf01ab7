import Foundation

/// Writes a value as pretty JSON with sorted keys to standard output.
func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Human-readable byte counts.
func formatBytes(_ bytes: UInt64) -> String {
  let units = ["B", "KiB", "MiB", "GiB", "TiB"]
  var value = Double(bytes), unit = 0
  while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
  return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}
