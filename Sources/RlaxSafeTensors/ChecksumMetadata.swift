/// The per-tensor checksum convention in `__metadata__`, shared with the C file weight store
/// (Plugins/weight-stores/file/file_store.c):
///   `"checksum_algorithm": "crc32c"` and, for each tensor, `"checksum.NAME": "1a2b3c4d"`
///   (CRC-32C of the tensor's bytes, eight lowercase hex digits).
/// The safetensors format knows nothing of it; to any other reader these are plain metadata.
enum ChecksumMetadata {
  /// Prefix of the per-tensor keys; the tensor's name follows it verbatim.
  static let keyPrefix = "checksum."
  /// The key naming the algorithm.
  static let algorithmKey = "checksum_algorithm"
  /// The only algorithm we write or verify.
  static let algorithm = "crc32c"

  /// `metadata` with a checksum for every tensor. Existing checksum keys are replaced, not
  /// merged: when asked for checksums the writer owns those keys, so metadata read back from
  /// an older checkpoint can be passed through without carrying stale values along.
  static func adding(to metadata: [String: String], for tensors: [SafeTensor]) -> [String: String] {
    var out = metadata.filter { !$0.key.hasPrefix(keyPrefix) && $0.key != algorithmKey }
    out[algorithmKey] = algorithm
    for tensor in tensors {
      out[keyPrefix + tensor.name] = CRC32C.hex(tensor.bytes.withUnsafeBytes { CRC32C.checksum($0) })
    }
    return out
  }

  /// Checks every `checksum.NAME` entry against the tensor it names. A file without a
  /// checksum table (no `checksum.` entry and no `checksum_algorithm`) is not checked
  /// (checksums are optional). But a table is all or nothing: the writer records an entry for
  /// every tensor, so a tensor without one is corruption (a lost or edited header entry would
  /// otherwise silently switch verification off for that tensor), as are an entry naming no
  /// tensor, an entry that is not eight hex digits, and an algorithm other than crc32c.
  static func verify(_ tensors: [SafeTensor], metadata: [String: String], source: String) throws {
    let entries = metadata.filter { $0.key.hasPrefix(keyPrefix) }
    guard !entries.isEmpty || metadata[algorithmKey] != nil else { return }
    if let declared = metadata[algorithmKey], declared != algorithm {
      throw SafeTensorsError(.malformed, source: source,
                             "__metadata__ \(algorithmKey) is \"\(declared)\", not \"\(algorithm)\": cannot verify the checksums")
    }
    let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    for key in entries.keys.sorted(by: HeaderParser.utf8Order) {
      let name = String(key.dropFirst(keyPrefix.count))
      let text = entries[key] ?? ""
      guard let tensor = byName[name] else {
        throw SafeTensorsError(.malformed, source: source,
                               "__metadata__ has a checksum for \"\(name)\", which is not a tensor in the file")
      }
      guard let expected = CRC32C.parseHex(text) else {
        throw SafeTensorsError(.malformed, source: source,
                               "tensor \"\(name)\": checksum \"\(text)\" in __metadata__ is not 8 hex digits")
      }
      let found = tensor.bytes.withUnsafeBytes { CRC32C.checksum($0) }
      guard found == expected else {
        throw SafeTensorsError(.checksumMismatch, source: source,
                               "tensor \"\(name)\": checksum mismatch: __metadata__ expects crc32c \(CRC32C.hex(expected)) but the bytes have \(CRC32C.hex(found))")
      }
    }
    let missing = tensors.map(\.name).filter { entries[keyPrefix + $0] == nil }
    if let first = missing.first {
      throw SafeTensorsError(.checksumMismatch, source: source,
                             "tensor \"\(first)\" has no checksum in __metadata__ although the file has a checksum table "
                               + "(\(entries.count) of \(tensors.count) tensors have one\(missing.count > 1 ? "; \(missing.count) lack one" : "")): "
                               + "treated as corrupt")
    }
  }
}
