/// An element type of the safetensors format, spelled exactly as the format's header spells it.
///
/// Only whole-byte types are listed: the sub-byte float types some newer writers know
/// (`F4`, `F6_E2M3`, `F6_E3M2`) pack several elements per byte, so a tensor's size would not
/// be `count * byteSize`; files using them are rejected as having an unknown dtype rather than
/// misread.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
  /// One byte per element, 0 or 1.
  case BOOL
  /// Unsigned 8-bit integer.
  case U8
  /// Signed 8-bit integer.
  case I8
  /// 8-bit float with 5 exponent bits and 2 mantissa bits.
  case F8_E5M2
  /// 8-bit float with 4 exponent bits and 3 mantissa bits.
  case F8_E4M3
  /// 8-bit power-of-two scale (exponent only), as used by microscaling formats.
  case F8_E8M0
  /// Signed 16-bit integer, little-endian.
  case I16
  /// Unsigned 16-bit integer, little-endian.
  case U16
  /// IEEE 754 half precision, little-endian.
  case F16
  /// bfloat16 (the top half of an IEEE 754 single), little-endian.
  case BF16
  /// Signed 32-bit integer, little-endian.
  case I32
  /// Unsigned 32-bit integer, little-endian.
  case U32
  /// IEEE 754 single precision, little-endian.
  case F32
  /// Complex number made of two little-endian F32 values (real, then imaginary).
  case C64
  /// IEEE 754 double precision, little-endian.
  case F64
  /// Signed 64-bit integer, little-endian.
  case I64
  /// Unsigned 64-bit integer, little-endian.
  case U64

  /// The number of bytes one element takes.
  public var byteSize: Int {
    switch self {
    case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3, .F8_E8M0: return 1
    case .I16, .U16, .F16, .BF16: return 2
    case .I32, .U32, .F32: return 4
    case .C64, .F64, .I64, .U64: return 8
    }
  }
}
