import Foundation
import RlaxPlugins
import RlaxSafeTensors

/// How a version travels: a list of tensor headers, then the tensors' bytes concatenated in
/// that order and cut into chunks, then the CRC-32C of all the bytes. Both ends check every
/// header (dtype, rank, dims, byte count) before trusting a size, and the receiver publishes
/// or returns nothing until the last byte and the checksum match.
enum TensorChunks {
  /// Bytes per chunk: well under gRPC's default 4 MiB message limit.
  static let chunkBytes = 1 << 20
  /// HTTP/2 flow-control window and frame size of both ends.
  static let windowBytes = 16 << 20
  static let frameBytes = (1 << 20) - 1
  static let maxRank = 8

  static func header(_ t: HostTensor) -> Rlax_V1_TensorHeader {
    .with {
      $0.name = t.name
      $0.dtype = t.dtype.rawValue
      $0.shape = t.shape.map(Int64.init)
      $0.nbytes = UInt64(t.bytes.count)
    }
  }

  /// The header as a TensorInfo, or why it cannot be one.
  static func info(_ h: Rlax_V1_TensorHeader) throws -> TensorInfo {
    guard let dtype = DType(rawValue: h.dtype) else { throw TransportError.badMessage("tensor '\(h.name)': unknown dtype \(h.dtype)") }
    guard h.shape.count <= maxRank, h.shape.allSatisfy({ $0 >= 0 }) else {
      throw TransportError.badMessage("tensor '\(h.name)': shape \(h.shape) (rank at most \(maxRank), dims >= 0)")
    }
    var elements = 1
    for d in h.shape {
      let (product, overflow) = elements.multipliedReportingOverflow(by: Int(d))
      guard !overflow else { throw TransportError.badMessage("tensor '\(h.name)': shape \(h.shape) overflows") }
      elements = product
    }
    let (nbytes, overflow) = elements.multipliedReportingOverflow(by: dtype.size)
    guard !overflow, UInt64(nbytes) == h.nbytes else {
      throw TransportError.badMessage("tensor '\(h.name)': \(h.nbytes) bytes, but \(dtype) \(h.shape) is \(overflow ? "too large" : "\(nbytes) bytes")")
    }
    return TensorInfo(name: h.name, dtype: dtype, shape: h.shape.map { Int($0) }, nbytes: nbytes)
  }

  /// The infos of `headers`, checked, with their total size (at most `limit` bytes).
  static func infos(_ headers: [Rlax_V1_TensorHeader], limit: Int) throws -> ([TensorInfo], Int) {
    let infos = try headers.map(info)
    guard Set(infos.map(\.name)).count == infos.count else { throw TransportError.badMessage("a tensor name appears twice") }
    var total = 0
    for i in infos {
      total += i.nbytes
      guard total <= limit else { throw TransportError.badMessage("the version is larger than the \(limit)-byte limit") }
    }
    return (infos, total)
  }

  /// Collects chunks of one version; `finish` returns the tensors once complete and verified.
  struct Assembler {
    let infos: [TensorInfo]
    let total: Int
    var data: [UInt8] = []
    var crc: UInt32 = 0

    init(headers: [Rlax_V1_TensorHeader], limit: Int) throws {
      (infos, total) = try TensorChunks.infos(headers, limit: limit)
      data.reserveCapacity(total)
    }

    mutating func append(_ bytes: Data) throws {
      guard data.count + bytes.count <= total else {
        throw TransportError.badMessage("more data than the headers announce (\(total) bytes)")
      }
      bytes.withUnsafeBytes { raw in
        crc = CRC32C.checksum(raw, continuing: crc)
        data.append(contentsOf: raw.bindMemory(to: UInt8.self))  // a copy of the buffer, not byte by byte
      }
    }

    func finish(checksum: UInt32) throws -> [HostTensor] {
      guard data.count == total else { throw TransportError.badMessage("\(data.count) of \(total) bytes arrived") }
      guard checksum == crc else {
        throw TransportError.badMessage(String(format: "checksum mismatch: sent %08x, received bytes give %08x", checksum, crc))
      }
      var offset = 0
      return infos.map { i in
        defer { offset += i.nbytes }
        return HostTensor(name: i.name, dtype: i.dtype, shape: i.shape, bytes: Array(data[offset..<(offset + i.nbytes)]))
      }
    }
  }

  /// The chunks of `tensors`: (headers on the first, data, last flag, checksum on the last).
  static func split(_ tensors: [HostTensor]) -> [(headers: [Rlax_V1_TensorHeader], data: Data, last: Bool, crc32c: UInt32)] {
    var all = Data()
    for t in tensors { all.append(contentsOf: t.bytes) }
    let crc = all.withUnsafeBytes { CRC32C.checksum($0) }
    var out: [(headers: [Rlax_V1_TensorHeader], data: Data, last: Bool, crc32c: UInt32)] = []
    var offset = 0
    repeat {
      let end = min(offset + chunkBytes, all.count)
      let last = end == all.count
      out.append((out.isEmpty ? tensors.map(header) : [], all.subdata(in: offset..<end), last, last ? crc : 0))
      offset = end
    } while offset < all.count
    return out
  }
}
