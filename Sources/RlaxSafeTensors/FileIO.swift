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

/// Writes a file so that readers see either the old file or the complete new one, never a
/// partial one, even across a crash: the bytes go to `DEST.tmp-RANDOM` in the same directory
/// (rename is only atomic within a filesystem), are fsynced, and the temporary file is then
/// renamed over the destination; the directory is fsynced last so the rename itself is durable.
enum FileIO {
  /// Writes whatever `body` emits to `url` atomically.
  static func writeAtomically(to url: URL, _ body: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
    let destination = url.path
    let temporary = destination + ".tmp-" + String(UInt64.random(in: .min ... .max), radix: 16)
    // O_EXCL: never write through a file (or link) someone else put at the temporary name.
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw error(temporary, "cannot create the temporary file") }
    var isOpen = true
    var renamed = false
    defer {
      if isOpen { close(descriptor) }
      if !renamed { unlink(temporary) }
    }
    try body { bytes in try writeAll(descriptor, bytes, path: temporary) }
    guard fsync(descriptor) == 0 else { throw error(temporary, "fsync failed") }
    isOpen = false
    // close can report a deferred write error (NFS), so it is checked too.
    guard close(descriptor) == 0 else { throw error(temporary, "close failed") }
    guard rename(temporary, destination) == 0 else {
      throw error(destination, "cannot rename \(temporary) over it")
    }
    renamed = true
    syncDirectory(url.deletingLastPathComponent().path)
  }

  /// Writes all of `bytes`, retrying short writes and EINTR.
  private static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws {
    try bytes.withUnsafeBytes { raw in
      var done = 0
      while done < raw.count {
        guard let base = raw.baseAddress else { return }
        let n = write(descriptor, base + done, raw.count - done)
        if n < 0 {
          if errno == EINTR { continue }
          throw error(path, "write failed after \(done) of \(raw.count) bytes")
        }
        done += n
      }
    }
  }

  /// Best effort: the file's own data is already durable, and some filesystems refuse to
  /// fsync a directory (EINVAL), which must not turn a completed write into a failure.
  private static func syncDirectory(_ path: String) {
    let descriptor = open(path.isEmpty ? "." : path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return }
    _ = fsync(descriptor)
    close(descriptor)
  }

  /// An `.io` error carrying `strerror(errno)`; call it before anything else can touch errno.
  static func error(_ path: String, _ what: String) -> SafeTensorsError {
    let reason = String(cString: strerror(errno))
    return SafeTensorsError(.io, source: path, "\(what): \(reason)")
  }
}
