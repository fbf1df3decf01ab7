/// Builds the header of a file byte for byte, so that the same tensors and metadata always
/// give the same file (checkpoints can then be compared and deduplicated by hash).
///
/// The layout is compact JSON with no spaces, keys in this order:
///   1. `"__metadata__"` first (omitted when the metadata is empty, as Python's writer does),
///      its keys sorted by their UTF-8 bytes — a dictionary has no order of its own, and byte
///      order does not depend on the platform's collation;
///   2. then every tensor in the order given, as
///      `"NAME":{"dtype":"F32","shape":[2,3],"data_offsets":[BEGIN,END]}`, with the tensors'
///      bytes laid out back to back in that same order, so that the order of writing survives
///      in the data offsets (which is how the reader recovers it).
/// Then spaces up to a multiple of 8 of 8 + header length (the format's alignment rule).
///
/// Unlike Python's writer, which reorders tensors by alignment and name, this keeps the
/// caller's order; any order that tiles the data section is valid safetensors.
enum HeaderWriter {
  /// The padded header (without the length prefix) for `tensors` and `metadata`, after
  /// checking that every tensor can be written; `source` names the destination in errors.
  static func header(for tensors: [SafeTensor], metadata: [String: String], source: String) throws -> [UInt8] {
    try validate(tensors, source: source)
    var json = "{"
    var first = true
    if !metadata.isEmpty {
      json += quoted("__metadata__") + ":{"
      let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      json += keys.map { quoted($0) + ":" + quoted(metadata[$0] ?? "") }.joined(separator: ",")
      json += "}"
      first = false
    }
    var offset = 0
    for tensor in tensors {
      if !first { json += "," }
      first = false
      let end = offset + tensor.bytes.count
      json += quoted(tensor.name) + ":{\"dtype\":\"" + tensor.dtype.rawValue + "\",\"shape\":["
        + tensor.shape.map(String.init).joined(separator: ",") + "],\"data_offsets\":[\(offset),\(end)]}"
      offset = end
    }
    json += "}"
    var bytes = Array(json.utf8)
    let padding = (Layout.headerAlignment - (Layout.prefixSize + bytes.count) % Layout.headerAlignment)
      % Layout.headerAlignment
    bytes += repeatElement(UInt8(ascii: " "), count: padding)
    guard bytes.count <= Layout.maxHeaderSize else {
      throw SafeTensorsError(.invalidArgument, source: source,
                             "the header would be \(bytes.count) bytes, more than the \(Layout.maxHeaderSize) safetensors allows")
    }
    return bytes
  }

  /// Throws for anything a reader would reject: duplicate or reserved names, negative
  /// dimensions, byte counts that do not match dtype and shape, or a data section too large.
  static func validate(_ tensors: [SafeTensor], source: String) throws {
    var seen = Set<String>()
    var total = 0
    for tensor in tensors {
      func fail(_ problem: String) -> SafeTensorsError {
        SafeTensorsError(.invalidArgument, source: source, "tensor \"\(tensor.name)\": \(problem)")
      }
      guard tensor.name != "__metadata__" else { throw fail("the name __metadata__ is reserved for the metadata") }
      guard seen.insert(tensor.name).inserted else { throw fail("the name appears twice") }
      guard !tensor.shape.contains(where: { $0 < 0 }) else {
        throw fail("shape \(Layout.describe(tensor.shape)) has a negative dimension")
      }
      guard let expected = Layout.byteCount(tensor.dtype, tensor.shape) else {
        throw fail("shape \(Layout.describe(tensor.shape)) is too large")
      }
      guard expected == tensor.bytes.count else {
        throw fail("dtype \(tensor.dtype.rawValue) and shape \(Layout.describe(tensor.shape)) make \(expected) bytes, but it has \(tensor.bytes.count)")
      }
      let (sum, overflow) = total.addingReportingOverflow(expected)
      guard !overflow else { throw fail("the data section would overflow Int") }
      total = sum
    }
  }

  /// `text` as a JSON string literal: quotes, backslashes and control characters escaped,
  /// everything else (including non-ASCII) as raw UTF-8, as JSON allows.
  static func quoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      case _ where scalar.value < 0x20:
        let digits = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
