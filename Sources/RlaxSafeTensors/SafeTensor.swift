/// One named tensor as it sits in a safetensors file: element type, shape and the raw
/// little-endian bytes of its elements in row-major order.
///
/// The struct itself does not enforce that `bytes` fits `dtype` and `shape`, so that callers
/// can build one piece by piece; `SafeTensors.encode`/`write` check it and throw
/// `SafeTensorsError` (kind `.invalidArgument`) when it does not, and everything `decode`/`read`
/// return has been checked.
public struct SafeTensor: Equatable, Sendable {
  /// The tensor's name, the key in the header (any string except `__metadata__`).
  public var name: String
  /// The element type.
  public var dtype: SafeTensorsDType
  /// The dimensions, outermost first; `[]` is a scalar (one element).
  public var shape: [Int]
  /// The elements' bytes, little-endian, row-major.
  public var bytes: [UInt8]

  /// A tensor from raw bytes.
  public init(name: String, dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
    self.name = name
    self.dtype = dtype
    self.shape = shape
    self.bytes = bytes
  }

  /// The number of elements `shape` describes, or nil when a dimension is negative or the
  /// product overflows `Int`.
  public var elementCount: Int? { Layout.elementCount(shape) }

  /// The number of bytes `dtype` and `shape` call for, or nil when that is not representable;
  /// a well-formed tensor has `bytes.count == expectedByteCount`.
  public var expectedByteCount: Int? { Layout.byteCount(dtype, shape) }
}

// MARK: - Typed views

extension SafeTensor {
  /// An F32 tensor holding `floats` (little-endian, whatever the host's byte order).
  public init(name: String, shape: [Int], floats: [Float]) {
    self.init(name: name, dtype: .F32, shape: shape, bytes: ElementCoding.bytes(floats.map(\.bitPattern)))
  }

  /// An F64 tensor holding `doubles`.
  public init(name: String, shape: [Int], doubles: [Double]) {
    self.init(name: name, dtype: .F64, shape: shape, bytes: ElementCoding.bytes(doubles.map(\.bitPattern)))
  }

  /// An I32 tensor holding `int32s`.
  public init(name: String, shape: [Int], int32s: [Int32]) {
    self.init(name: name, dtype: .I32, shape: shape, bytes: ElementCoding.bytes(int32s))
  }

  /// An I64 tensor holding `int64s`.
  public init(name: String, shape: [Int], int64s: [Int64]) {
    self.init(name: name, dtype: .I64, shape: shape, bytes: ElementCoding.bytes(int64s))
  }

  /// The elements of an F32 tensor; throws (rather than reinterpreting) for any other dtype,
  /// because silently reading BF16 bytes as F32 would produce garbage of the wrong length.
  public var floats: [Float] {
    get throws { try elements(.F32, UInt32.self).map(Float.init(bitPattern:)) }
  }

  /// The elements of an F32 tensor that must be finite, e.g. a checkpoint's weights: like
  /// ``floats``, but a NaN or an infinity throws `.nonFinite` naming `file`, the tensor, the
  /// first bad element (flat index) and how many there are. A model loaded with one would
  /// train on NaN losses from its first step, far from the file that caused it.
  public func finiteFloats(file: String) throws -> [Float] {
    let values = try floats
    guard let first = values.firstIndex(where: { !$0.isFinite }) else { return values }
    let count = values.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
    throw SafeTensorsError(.nonFinite, source: file,
                           "tensor \"\(name)\" holds \(count) non-finite value\(count == 1 ? "" : "s") of \(values.count): "
                             + "the first is \(values[first]) at element \(first)\(shape.count > 1 ? " (index \(Self.index(first, in: shape)))" : "")")
  }

  /// `[i, j, ...]` of flat element `flat` in row-major `shape`.
  static func index(_ flat: Int, in shape: [Int]) -> String {
    var rest = flat, out: [Int] = []
    for dim in shape.reversed() {
      out.append(dim > 0 ? rest % dim : 0)
      rest = dim > 0 ? rest / dim : 0
    }
    return "[" + out.reversed().map(String.init).joined(separator: ", ") + "]"
  }

  /// The elements of an F64 tensor; throws for any other dtype.
  public var doubles: [Double] {
    get throws { try elements(.F64, UInt64.self).map(Double.init(bitPattern:)) }
  }

  /// The elements of an I32 tensor; throws for any other dtype.
  public var int32s: [Int32] {
    get throws { try elements(.I32, Int32.self) }
  }

  /// The elements of an I64 tensor; throws for any other dtype.
  public var int64s: [Int64] {
    get throws { try elements(.I64, Int64.self) }
  }

  /// The bytes as `Word`s after checking the dtype and that the bytes fill whole elements.
  private func elements<Word: FixedWidthInteger>(_ wanted: SafeTensorsDType, _: Word.Type) throws -> [Word] {
    let source = "tensor \"\(name)\""
    guard dtype == wanted else {
      throw SafeTensorsError(.invalidArgument, source: source, "dtype is \(dtype.rawValue), not \(wanted.rawValue)")
    }
    guard bytes.count % MemoryLayout<Word>.size == 0 else {
      throw SafeTensorsError(.invalidArgument, source: source,
                             "\(bytes.count) bytes is not a whole number of \(wanted.rawValue) elements")
    }
    return ElementCoding.words(bytes, as: Word.self)
  }
}

/// Conversion between fixed-width words and little-endian bytes, independent of the host's
/// byte order (safetensors is little-endian by definition).
enum ElementCoding {
  /// The little-endian bytes of `words`, back to back.
  static func bytes<Word: FixedWidthInteger>(_ words: [Word]) -> [UInt8] {
    words.map(\.littleEndian).withUnsafeBytes { Array($0) }
  }

  /// `bytes` read as little-endian words; trailing bytes that do not fill a word are ignored
  /// (callers check the length first).
  static func words<Word: FixedWidthInteger>(_ bytes: [UInt8], as _: Word.Type) -> [Word] {
    var out = [Word](repeating: 0, count: bytes.count / MemoryLayout<Word>.size)
    out.withUnsafeMutableBytes { dst in
      bytes.withUnsafeBytes { src in
        // Copy through raw memory: `bytes` has no alignment guarantee for Word.
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src.prefix(dst.count)))
      }
    }
    return out.map { Word(littleEndian: $0) }
  }
}
