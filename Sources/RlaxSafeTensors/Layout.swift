/// Overflow-checked size arithmetic and the format's fixed limits, shared by the reader and
/// the writer so that both agree on what a well-formed tensor is.
enum Layout {
  /// The size of the little-endian u64 that starts every file.
  static let prefixSize = 8

  /// The header size limit of the reference implementation (`MAX_HEADER_SIZE` in the Rust
  /// crate): Python refuses larger headers, so we neither write nor read them.
  static let maxHeaderSize = 100_000_000

  /// The header is padded with spaces so that the data section starts 8-byte aligned.
  static let headerAlignment = 8

  /// product(shape), or nil on a negative dimension or overflow.
  static func elementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
      guard dimension >= 0 else { return nil }
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow else { return nil }
      count = product
    }
    return count
  }

  /// product(shape) * dtype size, or nil on a negative dimension or overflow.
  static func byteCount(_ dtype: SafeTensorsDType, _ shape: [Int]) -> Int? {
    guard let count = elementCount(shape) else { return nil }
    let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.byteSize)
    return overflow ? nil : bytes
  }

  /// "[2, 3]": shapes and offsets as they appear in error messages.
  static func describe(_ values: [Int]) -> String {
    "[" + values.map(String.init).joined(separator: ", ") + "]"
  }
}
