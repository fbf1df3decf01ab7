import Foundation
import RlaxPlugins

/// `rlax bench matmul`: matmul GFLOP/s through the backend ABI beside direct `cblas_sgemm` on
/// the same machine in the same run, and the cost of one op call through the ABI.
public struct MatmulBenchmark {
  public struct Row: Codable, Sendable {
    public var size: Int
    public var abiGflops: Double
    public var directGflops: Double
    /// Median over rounds of (ABI / direct) measured back to back, with its range.
    public var ratio: Double
    public var ratioMin: Double
    public var ratioMax: Double
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
    /// OpenBLAS's kernel family behind the direct calls, e.g. "Cooperlake".
    public var directKernels: String
  }

  public var backend: Backend
  public var sizes: [Int]
  /// Seconds of timing per measurement; each figure is the best of `rounds`.
  public var secondsPerMeasurement: Double
  public var rounds: Int
  /// Rounds of paired (ABI, direct) measurements per size.
  public var pairedRounds: Int

  public init(backend: Backend, sizes: [Int] = [64, 512, 2048], secondsPerMeasurement: Double = 0.3, rounds: Int = 3,
              pairedRounds: Int = 7) {
    self.backend = backend; self.sizes = sizes; self.secondsPerMeasurement = secondsPerMeasurement; self.rounds = rounds
    self.pairedRounds = pairedRounds
  }

  func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
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
    let direct = try DirectSgemm.load()
    var rows: [Row] = []
    for n in sizes {
      var rng = SystemRandomNumberGenerator()
      let a = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
      let b = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
      var c = [Float](repeating: 0, count: n * n)
      let at = try backend.upload(a, shape: [n, n]), bt = try backend.upload(b, shape: [n, n])
      let ct = try backend.tensor(.f32, [n, n])
      let flops = 2 * Double(n) * Double(n) * Double(n)
      // The machine may be shared: measure ABI and direct back to back in each round, swap
      // which goes first every round, and report medians of the paired figures.
      var abiRates: [Double] = [], directRates: [Double] = [], ratios: [Double] = []
      for round in 0..<pairedRounds {
        let runABI = {
          flops / (try timePerCall {
            try backend.matmul(at, bt, into: ct)
            try backend.synchronize()
          }) / 1e9
        }
        let runDirect = {
          flops / timePerCall {
            direct.multiply(a, b, into: &c, m: n, n: n, k: n)
          } / 1e9
        }
        let (abi, direct): (Double, Double)
        if round % 2 == 0 {
          let x = try runABI(); (abi, direct) = (x, runDirect())
        } else {
          let y = runDirect(); (abi, direct) = (try runABI(), y)
        }
        abiRates.append(abi)
        directRates.append(direct)
        ratios.append(abi / direct)
      }
      rows.append(Row(size: n, abiGflops: median(abiRates), directGflops: median(directRates), ratio: median(ratios),
                      ratioMin: ratios.min()!, ratioMax: ratios.max()!))
    }
    let one = try backend.upload([Float(1)], shape: [1])
    let oneByOne = try backend.upload([Float(2)], shape: [1, 1]), out = try backend.tensor(.f32, [1, 1])
    let fill = try timePerCall { for _ in 0..<Self.callBatch { try backend.fill(one, 3) } } / Double(Self.callBatch)
    let tiny = try timePerCall { for _ in 0..<Self.callBatch { try backend.matmul(oneByOne, oneByOne, into: out) } } / Double(Self.callBatch)
    var x: Float = 2, y: Float = 0
    let directTiny = timePerCall {
      for _ in 0..<Self.callBatch { direct.multiply(&x, &x, into: &y, m: 1, n: 1, k: 1) }
    } / Double(Self.callBatch)
    return Report(backend: backend.name, device: try backend.describe().name, rows: rows,
                  fillCallNanoseconds: fill * 1e9, tinyMatmulCallNanoseconds: tiny * 1e9, directTinySgemmNanoseconds: directTiny * 1e9,
                  directKernels: direct.kernels)
  }
}

extension MatmulBenchmark.Report {
  /// A table for people.
  public var text: String {
    var lines = ["rlax bench matmul: backend \(backend) (\(device)), fp32, square N x N x N",
                 "direct = cblas_sgemm of the same OpenBLAS (\(directKernels) kernels); medians over rounds of back-to-back ABI and direct measurements; ratio = median of per-round ABI/direct (min-max)",
                 "       N    ABI GFLOP/s  cblas_sgemm GFLOP/s    ratio   (range)"]
    for r in rows {
      lines.append(String(format: "%8d %14.2f %20.2f %7.1f%%   (%.0f-%.0f%%)", r.size, r.abiGflops, r.directGflops, r.ratio * 100,
                          r.ratioMin * 100, r.ratioMax * 100))
    }
    lines.append(String(format: "op call through the ABI: fill of 1 element %.0f ns; 1x1x1 matmul %.0f ns (direct 1x1x1 cblas_sgemm %.0f ns)",
                        fillCallNanoseconds, tinyMatmulCallNanoseconds, directTinySgemmNanoseconds))
    return lines.joined(separator: "\n")
  }
}
