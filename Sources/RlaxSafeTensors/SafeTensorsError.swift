/// Everything that can go wrong reading or writing a safetensors file.
///
/// The description always names the file (or the label the caller gave for in-memory bytes)
/// and says what was expected and what was found, because the usual reader of these messages
/// is a person looking at a failed training run who cannot attach a debugger to the file.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable, Sendable {
  /// The broad class of a failure, for callers that react differently to each.
  public enum Kind: Sendable, Equatable {
    /// The file could not be opened, read, written, synced or renamed.
    case io
    /// The bytes are not a well-formed safetensors file (bad header, bad offsets, ...).
    case malformed
    /// The file ends before the data its header describes.
    case truncated
    /// A tensor's bytes do not match the CRC-32C recorded in the metadata.
    case checksumMismatch
    /// The tensors or metadata handed to the writer cannot be written as given.
    case invalidArgument
    /// A tensor that must hold finite numbers holds a NaN or an infinity
    /// (``SafeTensor/finiteFloats(file:)``).
    case nonFinite
  }

  /// Which class of failure this is.
  public var kind: Kind
  /// The file path, or the label passed as `source` for in-memory bytes.
  public var source: String
  /// What is wrong, without the source.
  public var problem: String

  /// Makes an error; `problem` should state the expected and the found value.
  public init(_ kind: Kind, source: String, _ problem: String) {
    self.kind = kind
    self.source = source
    self.problem = problem
  }

  /// "SOURCE: PROBLEM".
  public var description: String { "\(source): \(problem)" }
}
