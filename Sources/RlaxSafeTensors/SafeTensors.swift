import Foundation

/// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
/// an 8-byte little-endian header length N, N bytes of UTF-8 JSON describing each tensor's
/// dtype, shape and `data_offsets` (plus optional string-to-string `__metadata__`), then the
/// data section the offsets point into. Files written here load with Python's `safetensors`,
/// and files Python writes load here.
///
/// Output is deterministic (the same input gives the same bytes; see `HeaderWriter` for the
/// exact layout) and reading is strict: every malformed, truncated or corrupt input is a
/// `SafeTensorsError` naming the file and the problem, never a crash or a silently shortened
/// result.
public enum SafeTensors {
  /// What a file holds: its tensors in data-offset order (the order they were written in)
  /// and its `__metadata__`.
  public typealias Contents = (tensors: [SafeTensor], metadata: [String: String])

  /// The complete file for `tensors` (laid out in the given order) and `metadata`.
  ///
  /// With `checksums`, the metadata also gets `"checksum_algorithm": "crc32c"` and a
  /// `"checksum.NAME"` entry per tensor (replacing any such keys already in `metadata`), the
  /// convention `read`/`decode` verify and the C file weight store shares.
  /// Throws `.invalidArgument` for a tensor whose bytes do not fit its dtype and shape, a
  /// negative dimension, a repeated name or the reserved name `__metadata__`.
  public static func encode(_ tensors: [SafeTensor], metadata: [String: String] = [:],
                            checksums: Bool = false) throws -> [UInt8] {
    var out: [UInt8] = []
    try emit(tensors, metadata: metadata, checksums: checksums, source: "<memory>") { out += $0 }
    return out
  }

  /// Writes what `encode` would return to `url`, atomically: the bytes go to a temporary
  /// file beside it (`.NAME.tmp-RANDOM`, DurableStorage) that is fsynced and then renamed over `url`, so a
  /// reader or a crash never sees a partial checkpoint. Tensors are streamed, not copied into
  /// one buffer first.
  public static func write(_ tensors: [SafeTensor], metadata: [String: String] = [:],
                           checksums: Bool = false, to url: URL) throws {
    // Validate before creating anything, so bad input leaves no temporary file behind.
    try HeaderWriter.validate(tensors, source: url.path)
    try FileIO.writeAtomically(to: url) { sink in
      try emit(tensors, metadata: metadata, checksums: checksums, source: url.path, to: sink)
    }
  }

  /// Parses a whole file held in memory; `source` names it in errors.
  ///
  /// With `verifyChecksums` (the default), every `checksum.NAME` entry in the metadata is
  /// checked against that tensor's bytes (see `encode`); tensors without one are not checked.
  public static func decode(bytes: [UInt8], source: String = "<memory>",
                            verifyChecksums: Bool = true) throws -> Contents {
    try decode(size: bytes.count, source: source, verifyChecksums: verifyChecksums) { offset, count in
      // The parser has already checked the ranges against the size; this guard only keeps
      // a future mistake from trapping.
      guard offset >= 0, count >= 0, count <= bytes.count - offset else {
        throw SafeTensorsError(.truncated, source: source,
                               "truncated: \(count) bytes at offset \(offset) are past the end of the \(bytes.count) bytes")
      }
      return Array(bytes[offset..<(offset + count)])
    }
  }

  /// Reads the file at `url`, one tensor at a time straight from the file (the file is never
  /// held in memory twice). See `decode(bytes:source:verifyChecksums:)` for `verifyChecksums`.
  public static func read(_ url: URL, verifyChecksums: Bool = true) throws -> Contents {
    let file = try PositionalReader(path: url.path)
    return try decode(size: file.size, source: url.path, verifyChecksums: verifyChecksums, read: file.read)
  }

  /// CRC-32C (Castagnoli) of `bytes`, `crc32c(Array("123456789".utf8)) == 0xE3069283`: the
  /// checksum `write(..., checksums: true)` records, for callers that keep their own.
  public static func crc32c(_ bytes: [UInt8]) -> UInt32 {
    bytes.withUnsafeBytes { CRC32C.checksum($0) }
  }

  // MARK: - Shared by the in-memory and the file paths

  /// Emits the file in pieces: length prefix and header, then each tensor's bytes.
  private static func emit(_ tensors: [SafeTensor], metadata: [String: String], checksums: Bool,
                           source: String, to sink: ([UInt8]) throws -> Void) throws {
    let fullMetadata = checksums ? ChecksumMetadata.adding(to: metadata, for: tensors) : metadata
    let header = try HeaderWriter.header(for: tensors, metadata: fullMetadata, source: source)
    try sink(ElementCoding.bytes([UInt64(header.count)]) + header)
    for tensor in tensors { try sink(tensor.bytes) }
  }

  /// Parses a file of `size` bytes whose contents `read(offset, count)` returns.
  private static func decode(size: Int, source: String, verifyChecksums: Bool,
                             read: (_ offset: Int, _ count: Int) throws -> [UInt8]) throws -> Contents {
    let prefixSize = Layout.prefixSize
    guard size >= prefixSize else {
      throw SafeTensorsError(.truncated, source: source,
                             "truncated: the file has \(size) bytes, fewer than the \(prefixSize)-byte header length that starts a safetensors file")
    }
    let headerLength = ElementCoding.words(try read(0, prefixSize), as: UInt64.self).first ?? 0
    let afterPrefix = size - prefixSize
    // Checked before the size limit: a length running past the end is the likelier story
    // (a cut-off file), and this message gives both numbers.
    guard headerLength <= UInt64(afterPrefix) else {
      throw SafeTensorsError(.truncated, source: source,
                             "header length \(headerLength) but the file has \(afterPrefix) bytes after the length prefix")
    }
    guard headerLength <= UInt64(Layout.maxHeaderSize) else {
      throw SafeTensorsError(.malformed, source: source,
                             "header length \(headerLength) is more than the \(Layout.maxHeaderSize) bytes safetensors allows")
    }
    let header = try read(prefixSize, Int(headerLength))
    let dataStart = prefixSize + Int(headerLength)
    let parsed = try HeaderParser.parse(header, dataLength: size - dataStart, fileSize: size, source: source)
    let tensors = try parsed.entries.map { entry in
      SafeTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape,
                 bytes: try read(dataStart + entry.begin, entry.end - entry.begin))
    }
    if verifyChecksums { try ChecksumMetadata.verify(tensors, metadata: parsed.metadata, source: source) }
    return (tensors, parsed.metadata)
  }
}
