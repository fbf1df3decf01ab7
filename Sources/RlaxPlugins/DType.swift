import CRlax

/// Element types (rlax_dtype).
public enum DType: UInt32, CaseIterable, Sendable, Codable {
  case f32 = 1, bf16, f16, i32, i64, u8, f64

  public var size: Int {
    switch self {
    case .f32, .i32: 4
    case .bf16, .f16: 2
    case .i64, .f64: 8
    case .u8: 1
    }
  }

  /// The name safetensors uses.
  public var name: String {
    switch self {
    case .f32: "F32"
    case .bf16: "BF16"
    case .f16: "F16"
    case .i32: "I32"
    case .i64: "I64"
    case .u8: "U8"
    case .f64: "F64"
    }
  }

  var c: rlax_dtype { rlax_dtype(rawValue: rawValue) }

  init?(c: rlax_dtype) { self.init(rawValue: c.rawValue) }

  static func names(in mask: UInt32) -> [String] {
    allCases.filter { mask & (1 << $0.rawValue) != 0 }.map(\.name)
  }
}
