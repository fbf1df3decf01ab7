/// One arm of a comparison: a name and the `rlax train` flags that make it differ from the
/// others. `--arm dapo` is the algorithm dapo; `--arm "grpo-k1: --algo grpo --max-staleness 1"`
/// names its flags (split on spaces; no quoting inside an arm).
public struct Arm: Codable, Equatable, Sendable {
  public var name: String
  public var flags: [String]

  public init(name: String, flags: [String]) {
    self.name = name
    self.flags = flags
  }

  public static func parse(_ text: String) throws -> Arm {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard let colon = trimmed.firstIndex(of: ":") else {
      guard isName(trimmed) else { throw CompareError.badArm(text, "expected NAME or \"NAME: FLAGS\" with NAME of letters, digits, '-', '_', '.'") }
      return Arm(name: trimmed, flags: ["--algo", trimmed])
    }
    let name = trimmed[..<colon].trimmingCharacters(in: .whitespaces)
    guard isName(name) else { throw CompareError.badArm(text, "the name '\(name)' must be letters, digits, '-', '_', '.'") }
    let flags = trimmed[trimmed.index(after: colon)...].split(separator: " ").map(String.init)
    return Arm(name: name, flags: flags)
  }

  /// A name that is also a safe directory name.
  static func isName(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 64 && s != "." && s != ".." && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
  }
}
