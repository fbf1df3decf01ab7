import Foundation
import RlaxSafeTensors
#if canImport(Glibc)
import Glibc
#endif

/// The controller's journal: one JSON line per change of its ledger, appended before the
/// change is acted on, so that a controller killed at any moment restarts where it was. A
/// line cut short by the kill (the last one) is dropped; any other line that does not parse
/// is an error naming the file and line. On release the file is replaced, atomically, by a
/// snapshot of what is still held.
///
/// Lines are written, not fsynced: they survive the death of the process, which is the fault
/// the controller is built for. A machine crash can lose the newest lines; the items they
/// describe are then generated again, with the same seeds, into the same groups.
final class ControllerJournal {
  enum DropKind: String, Codable { case late, duplicate }

  enum Record: Codable, Equatable {
    case issue(step: Int, index: Int, leasedBefore: Bool)
    case lease(RolloutLedger.Lease)
    case expire(id: UInt64)
    case done(SavedRollout, lease: UInt64)
    case dropped(DropKind)
    case release(before: Int)
    case restarted
    case snapshot(counters: ControllerCounters, nextLease: UInt64, releasedBefore: Int)
  }

  let url: URL
  private var descriptor: Int32
  /// The first write that failed (a full disk, say); the ledger reports it on its next call.
  private(set) var failure: Error?

  init(url: URL) throws {
    self.url = url
    try DurableStorage.createDirectory(url.deletingLastPathComponent())
    descriptor = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw StorageError.io(path: url.path, what: "cannot open the controller journal", errno: errno) }
  }

  deinit { close(descriptor) }

  func append(_ record: Record) {
    guard failure == nil else { return }
    do {
      var line = try JSONEncoder().encode(record)
      line.append(0x0A)
      try write(line, to: descriptor)
    } catch {
      failure = error
    }
  }

  /// Replaces the journal by `records`, atomically.
  func compact(_ records: [Record]) {
    guard failure == nil else { return }
    do {
      var data = Data()
      let encoder = JSONEncoder()
      for r in records {
        data.append(try encoder.encode(r))
        data.append(0x0A)
      }
      try DurableStorage.write(data, to: url)
      let fd = open(url.path, O_WRONLY | O_APPEND | O_CLOEXEC)
      guard fd >= 0 else { throw StorageError.io(path: url.path, what: "cannot reopen the controller journal", errno: errno) }
      close(descriptor)
      descriptor = fd
    } catch {
      failure = error
    }
  }

  private func write(_ data: Data, to fd: Int32) throws {
    try data.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { throw StorageError.io(path: url.path, what: "cannot append to the controller journal", errno: errno) }
        offset += n
      }
    }
  }

  /// The records of the journal at `url` (none when it does not exist). A last line cut short
  /// is removed from the file.
  static func replay(_ url: URL) throws -> [Record] {
    guard let data = FileManager.default.contents(atPath: url.path) else { return [] }
    var records: [Record] = []
    var lineStart = data.startIndex, number = 0
    let decoder = JSONDecoder()
    while lineStart < data.endIndex {
      number += 1
      guard let end = data[lineStart...].firstIndex(of: 0x0A) else { break }  // no newline: cut short
      let line = data[lineStart..<end]
      do {
        records.append(try decoder.decode(Record.self, from: line))
      } catch where end == data.index(before: data.endIndex) {
        break  // the last line, garbled by a crash mid-write
      } catch {
        throw LedgerError.journal("\(url.path):\(number): not a journal record (\(error))")
      }
      lineStart = data.index(after: end)
    }
    if lineStart < data.endIndex {
      guard truncate(url.path, off_t(lineStart - data.startIndex)) == 0 else {
        throw StorageError.io(path: url.path, what: "cannot cut the journal's torn last line", errno: errno)
      }
    }
    return records
  }
}
