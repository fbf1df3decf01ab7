import CFFI
import Foundation
import RlaxTasks

#if canImport(Glibc)
import Glibc
#endif

/// A C-ABI function in a user's shared library, called through libffi with no glue code: the
/// library is opened with `dlopen(RTLD_NOW | RTLD_LOCAL)`, the symbol found with `dlsym`, and a
/// call interface prepared once from the ``ForeignSignature`` with `ffi_prep_cif`; every
/// ``score(problem:completion:)`` is one `ffi_call`.
///
/// Calling it runs the user's code in *this* process, so a crash there is a crash here: a run
/// scores foreign functions through a ``RewardGuard`` in out-of-process mode (the
/// `rlax-reward-host` child), which uses this type on the child's side.
///
/// Thread-safe: the prepared interface is read-only and each call has its own argument
/// buffers (whether the C function itself is thread-safe is the library's business; the host
/// process calls it from one thread). Libraries are never unloaded.
public final class ForeignFunction: RewardFunction, @unchecked Sendable {
  public let libraryPath: String
  public let symbol: String
  public let signature: ForeignSignature

  private let function: @convention(c) () -> Void
  private let cif: UnsafeMutablePointer<ffi_cif>
  private let argumentTypes: UnsafeMutablePointer<UnsafeMutablePointer<ffi_type>?>

  /// `symbol@file-name`, e.g. `sum_reward@librewards.so`.
  public var name: String { "\(symbol)@\((libraryPath as NSString).lastPathComponent)" }

  /// Parses `signature` and binds the function.
  public convenience init(library: String, symbol: String, signature: String) throws {
    try self.init(library: library, symbol: symbol, signature: ForeignSignature(parsing: signature))
  }

  /// Opens `library` (a path; a bare file name is searched for as `dlopen` does), finds
  /// `symbol` and prepares a libffi call interface for `signature`.
  /// - Throws: ``RewardError/libraryNotLoadable(path:reason:)`` with `dlerror()`,
  ///   ``RewardError/symbolMissing(path:symbol:)``, ``RewardError/ffiPreparationFailed(symbol:status:)``.
  public init(library: String, symbol: String, signature: ForeignSignature) throws {
    if library.contains("/") && !FileManager.default.fileExists(atPath: library) {
      throw RewardError.libraryNotLoadable(path: library, reason: "no such file")
    }
    guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
      throw RewardError.libraryNotLoadable(path: library, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
    }
    _ = dlerror()
    guard let address = dlsym(handle, symbol) else {
      throw RewardError.symbolMissing(path: library, symbol: symbol)
    }
    self.libraryPath = library
    self.symbol = symbol
    self.signature = signature
    self.function = unsafeBitCast(address, to: (@convention(c) () -> Void).self)

    let count = signature.arguments.count
    argumentTypes = .allocate(capacity: max(count, 1))
    for i in 0..<count { argumentTypes[i] = FFITypes.pointer }
    cif = .allocate(capacity: 1)
    let status = ffi_prep_cif(cif, FFI_DEFAULT_ABI, UInt32(count), FFITypes.of(signature.returnType),
                              count == 0 ? nil : argumentTypes)
    guard status == FFI_OK else {
      cif.deallocate()
      argumentTypes.deallocate()
      throw RewardError.ffiPreparationFailed(symbol: symbol, status: Int(status.rawValue))
    }
  }

  deinit {
    cif.deallocate()
    argumentTypes.deallocate()
  }

  /// Calls the function with the problem's fields in the signature's order. The raw result,
  /// converted to Double: it may be NaN or infinite (a ``RewardGuard`` zeroes those).
  public func score(problem: Problem, completion: String) -> Double {
    call(prompt: problem.prompt, completion: completion, answer: problem.answer)
  }

  /// Calls the function with these field values.
  public func call(prompt: String, completion: String, answer: String) -> Double {
    let fields = signature.fields
    // One strdup'd C string per argument, and one slot holding each pointer: libffi's avalue[i]
    // points at the argument's value, which for a cstring is the `char *` itself.
    let strings = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: max(fields.count, 1))
    let values = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(fields.count, 1))
    defer {
      for i in 0..<fields.count { free(strings[i]) }
      strings.deallocate()
      values.deallocate()
    }
    for (i, field) in fields.enumerated() {
      let text: String
      switch field {
      case .prompt: text = prompt
      case .completion: text = completion
      case .answer: text = answer
      }
      strings[i] = strdup(text)
      values[i] = UnsafeMutableRawPointer(strings + i)
    }
    // libffi widens integer results narrower than ffi_arg to a full ffi_arg (8 bytes here).
    let result = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
    defer { result.deallocate() }
    result.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
    ffi_call(cif, function, result, fields.isEmpty ? nil : values)
    switch signature.returnType {
    case .double: return result.load(as: Double.self)
    case .float: return Double(result.load(as: Float.self))
    case .int32: return Double(Int32(truncatingIfNeeded: result.load(as: Int64.self)))
    case .int64: return Double(result.load(as: Int64.self))
    }
  }
}

/// libffi's type descriptors. They are the library's own globals (`ffi_type_double`, ...),
/// looked up by address with `dlsym` so the pointers handed to `ffi_prep_cif` stay valid for
/// the life of the process; a private copy is used if the lookup ever fails.
enum FFITypes {
  nonisolated(unsafe) static let pointer = lookup("ffi_type_pointer", fallback: ffi_type_pointer)
  nonisolated(unsafe) static let double = lookup("ffi_type_double", fallback: ffi_type_double)
  nonisolated(unsafe) static let float = lookup("ffi_type_float", fallback: ffi_type_float)
  nonisolated(unsafe) static let sint32 = lookup("ffi_type_sint32", fallback: ffi_type_sint32)
  nonisolated(unsafe) static let sint64 = lookup("ffi_type_sint64", fallback: ffi_type_sint64)

  static func of(_ type: ForeignSignature.ReturnType) -> UnsafeMutablePointer<ffi_type> {
    switch type {
    case .double: return double
    case .float: return float
    case .int32: return sint32
    case .int64: return sint64
    }
  }

  private static func lookup(_ symbol: String, fallback: ffi_type) -> UnsafeMutablePointer<ffi_type> {
    if let address = dlsym(UnsafeMutableRawPointer(bitPattern: 0), symbol) {
      return address.assumingMemoryBound(to: ffi_type.self)
    }
    let copy = UnsafeMutablePointer<ffi_type>.allocate(capacity: 1)
    copy.initialize(to: fallback)
    return copy
  }
}
