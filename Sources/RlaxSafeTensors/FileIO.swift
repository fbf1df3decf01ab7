import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file opened for reading at absolute offsets (pread), so that a checkpoint is read
/// tensor by tensor straight into each tensor's array: no second copy of the whole file in
/// memory, and no memory mapping that would fault (SIGBUS) if another process truncated it.
final class PositionalReader {
  /// The file's size when it was opened.
  let size: Int
  private let descriptor: Int32
  private let source: String

  /// Opens `path` (which must be a regular file) for reading.
  init(path: String) throws {
    source = path
    descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw FileIO.error(source, "cannot open it for reading") }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      let error = FileIO.error(source, "cannot stat it")
      close(descriptor)
      throw error
    }
    guard info.st_mode & S_IFMT == S_IFREG else {
      close(descriptor)
      throw SafeTensorsError(.io, source: source, "it is not a regular file")
    }
    size = Int(info.st_size)
  }

  deinit { close(descriptor) }

  /// Exactly `count` bytes from `offset`; a file that ends early (shrank since it was opened)
  /// is reported as truncated rather than returning fewer bytes.
  func read(at offset: Int, count: Int) throws -> [UInt8] {
    try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      guard let base = buffer.baseAddress else { return }  // nil only when count == 0
      var done = 0
      while done < count {
        let n = pread(descriptor, base + done, count - done, off_t(offset + done))
        if n < 0 {
          if errno == EINTR { continue }
          throw FileIO.error(source, "cannot read \(count) bytes at offset \(offset)")
        }
        if n == 0 {
          throw SafeTensorsError(.truncated, source: source,
                                 "truncated: the file ended at \(offset + done) bytes while reading \(count) bytes at offset \(offset) (it was \(size) bytes when opened)")
        }
        done += n
      }
      initialized = count
    }
  }
}

/// File errors of this module, as `.io` SafeTensorsErrors.
enum FileIO {
  /// `DurableStorage.write(to:)`, its errors as `.io` errors naming the path.
  static func writeAtomically(to url: URL, _ body: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
    do { try DurableStorage.write(to: url, body) } catch StorageError.io(let path, let what, let code) {
      throw SafeTensorsError(.io, source: path, code == 0 ? what : "\(what): \(String(cString: strerror(code)))")
    }
  }

  /// An `.io` error carrying `strerror(errno)`; call it before anything else can touch errno.
  static func error(_ path: String, _ what: String) -> SafeTensorsError {
    let reason = String(cString: strerror(errno))
    return SafeTensorsError(.io, source: path, "\(what): \(reason)")
  }
}
