import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes that survive a kill or a power cut at any instant: readers see the old state or the
/// complete new one. A file is written to a temporary name, fsynced, and renamed; a directory
/// is filled under a temporary name, every file and the directory fsynced, and renamed into
/// place in one step; the parent is fsynced so the rename itself is durable.
public enum DurableStorage {
  /// Writes `data` to `url` atomically and durably.
  public static func write(_ data: Data, to url: URL) throws {
    try write(to: url) { emit in try emit([UInt8](data)) }
  }

  /// Writes whatever `body` emits to `url` atomically and durably: the bytes go to
  /// `.NAME.tmp-RANDOM` beside it (rename is atomic only within a file system), which is
  /// fsynced and renamed over `url`; the directory is fsynced last so the rename is durable.
  public static func write(to url: URL, _ body: (_ emit: ([UInt8]) throws -> Void) throws -> Void) throws {
    let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(randomSuffix())")
    // O_EXCL: never write through a file (or link) someone else put at the temporary name.
    let fd = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw StorageError.io(path: temporary.path, what: "cannot create the file", errno: errno) }
    var committed = false
    defer { if !committed { unlink(temporary.path) } }
    do {
      try body { bytes in try bytes.withUnsafeBytes { try writeAll(fd, $0, path: temporary.path) } }
      guard fsync(fd) == 0 else { throw StorageError.io(path: temporary.path, what: "fsync failed", errno: errno) }
    } catch {
      close(fd)
      throw error
    }
    // close can report a deferred write error (NFS), so it is checked too.
    guard close(fd) == 0 else { throw StorageError.io(path: temporary.path, what: "close failed", errno: errno) }
    guard rename(temporary.path, url.path) == 0 else {
      throw StorageError.io(path: url.path, what: "cannot rename \(temporary.lastPathComponent) over it", errno: errno)
    }
    committed = true
    syncDirectory(url.deletingLastPathComponent())
  }

  /// Fills a fresh directory through `fill`, makes every file in it durable, then renames it to
  /// `url` in one step. An existing `url` is replaced: it is first moved aside, so a kill
  /// between the two renames leaves the old directory at `.NAME.old-*` rather than nothing.
  /// A failure removes the partial directory and leaves `url` as it was.
  public static func writeDirectory(_ url: URL, _ fill: (URL) throws -> Void) throws {
    let parent = url.deletingLastPathComponent()
    try createDirectory(parent)
    let temporary = parent.appendingPathComponent(".\(url.lastPathComponent).tmp-\(randomSuffix())")
    try createDirectory(temporary)
    var committed = false
    defer { if !committed { try? FileManager.default.removeItem(at: temporary) } }
    try fill(temporary)
    for name in try FileManager.default.contentsOfDirectory(atPath: temporary.path) {
      try syncFile(temporary.appendingPathComponent(name))
    }
    try syncFile(temporary)
    var aside: URL?
    if FileManager.default.fileExists(atPath: url.path) {
      let old = parent.appendingPathComponent(".\(url.lastPathComponent).old-\(randomSuffix())")
      guard rename(url.path, old.path) == 0 else {
        throw StorageError.io(path: url.path, what: "cannot move the previous directory aside", errno: errno)
      }
      aside = old
    }
    guard rename(temporary.path, url.path) == 0 else {
      let e = errno
      if let aside { rename(aside.path, url.path) }
      throw StorageError.io(path: url.path, what: "cannot rename \(temporary.lastPathComponent) to it", errno: e)
    }
    committed = true
    syncDirectory(parent)
    if let aside { try? FileManager.default.removeItem(at: aside) }
  }

  /// `mkdir -p` with an error that names the directory and the reason (read-only, full, ...).
  public static func createDirectory(_ url: URL) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw StorageError.io(path: url.path, what: "exists and is not a directory", errno: 0) }
      return
    }
    let parent = url.deletingLastPathComponent()
    if parent.path != url.path { try createDirectory(parent) }
    guard mkdir(url.path, 0o755) == 0 || errno == EEXIST else {
      throw StorageError.io(path: url.path, what: "cannot create the directory", errno: errno)
    }
  }

  /// fsync of one file or directory.
  public static func syncFile(_ url: URL) throws {
    let fd = open(url.path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StorageError.io(path: url.path, what: "cannot open it to fsync", errno: errno) }
    defer { close(fd) }
    // Some filesystems refuse to fsync a directory (EINVAL): its files are durable already.
    guard fsync(fd) == 0 || errno == EINVAL else { throw StorageError.io(path: url.path, what: "fsync failed", errno: errno) }
  }

  /// Best-effort fsync of a directory, so a rename inside it is durable.
  public static func syncDirectory(_ url: URL) { try? syncFile(url) }

  /// Writes all of `bytes`, retrying short writes and EINTR.
  static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
    var done = 0
    while done < bytes.count {
      let n = posixWrite(fd, bytes.baseAddress! + done, bytes.count - done)
      if n < 0 {
        if errno == EINTR { continue }
        throw StorageError.io(path: path, what: "write failed after \(done) of \(bytes.count) bytes", errno: errno)
      }
      done += n
    }
  }

  static func randomSuffix() -> String { String(UInt64.random(in: .min ... .max), radix: 36) }
}

/// A failed write: the path, what was being done, and the system's reason (disk full,
/// read-only file system, permission denied, ...).
public enum StorageError: Error, CustomStringConvertible, Equatable {
  case io(path: String, what: String, errno: Int32)

  public var description: String {
    switch self {
    case .io(let path, let what, let errno):
      errno == 0 ? "\(path): \(what)" : "\(path): \(what): \(String(cString: strerror(errno)))"
    }
  }
}

private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int { write(fd, buffer, count) }

extension NSError {
  /// The POSIX errno behind a Foundation file error, or 0.
  public var underlyingErrno: Int32 {
    if domain == NSPOSIXErrorDomain { return Int32(code) }
    return (userInfo[NSUnderlyingErrorKey] as? NSError)?.underlyingErrno ?? 0
  }
}
