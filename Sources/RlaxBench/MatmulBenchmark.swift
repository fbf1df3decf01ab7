import COpenBLAS
import Foundation
import RlaxPlugins

/// `rlax bench matmul`: matmul GFLOP/s through the backend ABI beside direct `cblas_sgemm` on
/// the same machine in the same run, and the cost of one op call through the ABI.
public struct MatmulBenchmark {
  public struct Row: Codable, Sendable {
    public var size: Int
    public var abiGflops: Double
    public var directGflops: Double
    public var ratio: Double { abiGflops / directGflops }
  }

  public struct Report: Codable, Sendable {
    public var backend: String
    public var device: String
    public var rows: [Row]
    /// Nanoseconds per op call through the ABI: fill of one element, and a 1x1x1 matmul.
    public var fillCallNanoseconds: Double
    public var tinyMatmulCallNanoseconds: Double
    /// The same 1x1x1 sgemm called directly, for comparison.
    public var directTinySgemmNanoseconds: Double
  }

  public var backend: Backend
  public var sizes: [Int]
  /// Seconds of timing per measurement; each figure is the best of `rounds`.
  public var secondsPerMeasurement: Double
  public var rounds: Int

  public init(backend: Backend, sizes: [Int] = [64, 512, 2048], secondsPerMeasurement: Double = 0.3, rounds: Int = 3) {
    self.backend = backend; self.sizes = sizes; self.secondsPerMeasurement = secondsPerMeasurement; self.rounds = rounds
  }

  static func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
  }

  /// Seconds per call of `body`, the best over `rounds` timed batches.
  func timePerCall(_ body: () throws -> Void) rethrows -> Double {
    try body()  // warm-up
    var best = Double.infinity
    for _ in 0..<rounds {
      var calls = 0
      let start = MatmulBenchmark.now()
      var elapsed = 0.0
      repeat {
        try body()
        calls += 1
        elapsed = MatmulBenchmark.now() - start
      } while elapsed < secondsPerMeasurement / Double(rounds)
      best = min(best, elapsed / Double(calls))
    }
    return best
  }

  /// Calls per batch for call-overhead timings, so the clock is read rarely.
  static let callBatch = 10_000

  public func run() throws -> Report {
    var rows: [Row] = []
    for n in sizes {
      var rng = SystemRandomNumberGenerator()
      let a = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
      let b = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
      var c = [Float](repeating: 0, count: n * n)
      let at = try backend.upload(a, shape: [n, n]), bt = try backend.upload(b, shape: [n, n])
      let ct = try backend.tensor(.f32, [n, n])
      let flops = 2 * Double(n) * Double(n) * Double(n)
      // Alternate the two so that neither gets a warmer machine.
      var abi = Double.infinity, direct = Double.infinity
      for _ in 0..<2 {
        abi = min(abi, try timePerCall {
          try backend.matmul(at, bt, into: ct)
          try backend.synchronize()
        })
        direct = min(direct, timePerCall {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c, Int32(n))
        })
      }
      rows.append(Row(size: n, abiGflops: flops / abi / 1e9, directGflops: flops / direct / 1e9))
    }
    let one = try backend.upload([Float(1)], shape: [1])
    let oneByOne = try backend.upload([Float(2)], shape: [1, 1]), out = try backend.tensor(.f32, [1, 1])
    let fill = try timePerCall { for _ in 0..<Self.callBatch { try backend.fill(one, 3) } } / Double(Self.callBatch)
    let tiny = try timePerCall { for _ in 0..<Self.callBatch { try backend.matmul(oneByOne, oneByOne, into: out) } } / Double(Self.callBatch)
    var x: Float = 2, y: Float = 0
    let directTiny = timePerCall {
      for _ in 0..<Self.callBatch { cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &x, 1, &x, 1, 0, &y, 1) }
    } / Double(Self.callBatch)
    return Report(backend: backend.name, device: try backend.describe().name, rows: rows,
                  fillCallNanoseconds: fill * 1e9, tinyMatmulCallNanoseconds: tiny * 1e9, directTinySgemmNanoseconds: directTiny * 1e9)
  }
}

extension MatmulBenchmark.Report {
  /// A table for people.
  public var text: String {
    var lines = ["rlax bench matmul: backend \(backend) (\(device)), fp32, square N x N x N, best of timed batches",
                 "       N    ABI GFLOP/s  cblas_sgemm GFLOP/s    ratio"]
    for r in rows {
      lines.append(String(format: "%8d %14.2f %20.2f %7.1f%%", r.size, r.abiGflops, r.directGflops, r.ratio * 100))
    }
    lines.append(String(format: "op call through the ABI: fill of 1 element %.0f ns; 1x1x1 matmul %.0f ns (direct 1x1x1 cblas_sgemm %.0f ns)",
                        fillCallNanoseconds, tinyMatmulCallNanoseconds, directTinySgemmNanoseconds))
    return lines.joined(separator: "\n")
  }
}
