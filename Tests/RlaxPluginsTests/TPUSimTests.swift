import Foundation
import RlaxConformance
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// tpu-sim's cost model on hand-computed cases, its MXU numerics against a bf16-rounding
/// reference, and HBM capacity.
final class TPUSimTests: XCTestCase {
  func backend(_ options: [(String, String)]) throws -> Backend {
    try Backend(library: TestSupport.bundled("tpu-sim"), options: PluginOptions(options))
  }

  /// Simulated seconds of one matmul M x K @ K x N.
  func matmulSeconds(_ b: Backend, m: Int, n: Int, k: Int) throws -> Double {
    let a = try b.tensor(.f32, [m, k]), w = try b.tensor(.f32, [k, n]), c = try b.tensor(.f32, [m, n])
    try b.fill(a, 0.5)
    try b.fill(w, 0.25)
    try b.resetCounters()
    try b.matmul(a, w, into: c)
    return try b.counters().simulatedSeconds!
  }

  func testMatmulTimeIsFlopsAtPeakWithTilePadding() throws {
    // Memory made free and no per-op overhead: the clock is pure MXU time.
    let b = try backend([("hbm_bandwidth", "1e30"), ("op_overhead", "0")])
    let full = try matmulSeconds(b, m: 512, n: 512, k: 512)
    XCTAssertEqual(full, 2 * pow(512, 3) / 459e12, accuracy: 1e-15, "512^3 at full efficiency: 2*512^3/459e12 s")
    // The same formula scales to the 4096^3 case: 2*4096^3/459e12 = 299.43 us.
    XCTAssertEqual(full * pow(8, 3), 2 * pow(4096, 3) / 459e12, accuracy: 1e-12)
    // A dimension of 130 pays for 256.
    let padded = try matmulSeconds(b, m: 130, n: 128, k: 128), rounded = try matmulSeconds(b, m: 256, n: 128, k: 128)
    XCTAssertEqual(padded, rounded, accuracy: 1e-18)
    XCTAssertEqual(padded, 2 * 256 * 128 * 128 / 459e12, accuracy: 1e-18)
    let c = try b.counters()
    XCTAssertEqual(c.simulatedComputeSeconds ?? -1, padded, accuracy: 1e-18, "a compute-bound op counts as compute")
    XCTAssertEqual(c.simulatedMemorySeconds ?? -1, 0, accuracy: 1e-18)
  }

  func testAMemoryBoundOpTakesBytesOverBandwidth() throws {
    let b = try backend([("op_overhead", "0")])
    let n = 1 << 20
    let x = try b.tensor(.f32, [n]), y = try b.tensor(.f32, [n])
    try b.fill(x, 1)
    try b.fill(y, 2)
    try b.resetCounters()
    try b.binary(.add, x, y, into: x)
    // Reads two arrays and writes one: 12 bytes per element at 2765 GB/s.
    XCTAssertEqual(try b.counters().simulatedSeconds!, Double(12 * n) / 2765e9, accuracy: 1e-15)
    XCTAssertEqual(try b.counters().simulatedMemorySeconds ?? -1, Double(12 * n) / 2765e9, accuracy: 1e-15)
  }

  func testGradientAllReduceIsCostedOnTheTorus() throws {
    let b = try backend([("slice", "v5p-128")])
    let t = try b.upload([Float](repeating: 3, count: 1 << 20), shape: [1 << 20])
    try b.resetCounters()
    try b.allReduce(t)
    // v5p-128 = 4x4x4 chips with wraparound: reduce-scatter + all-gather over the three axes
    // at once, 2V / (3 axes x 2 directions x 9e10 B/s) + 12 hops x 1 us (docs/tpu-sim.md).
    let v = Double(4 << 20)
    XCTAssertEqual(try b.counters().simulatedCollectiveSeconds!, 2 * v / 5.4e11 + 12e-6, accuracy: 1e-12)
    XCTAssertEqual(try b.download(t), [Float](repeating: 3, count: 1 << 20), "replicas hold identical data: the sum is unchanged")
    let one = try backend([("topology", "1x1x1")])
    let u = try one.upload([Float](repeating: 1, count: 16), shape: [16])
    try one.allReduce(u)
    XCTAssertEqual(try one.counters().simulatedCollectiveSeconds!, 0, "one chip: nothing to reduce")
  }

  func testMatmulRoundsInputsToBF16AndAccumulatesInFP32() throws {
    let b = try backend([])
    var rng = SystemRandomNumberGenerator()
    let (m, n, k) = (7, 9, 300)
    let a = (0..<(m * k)).map { _ in Float.random(in: -1...1, using: &rng) }, w = (0..<(k * n)).map { _ in Float.random(in: -1...1, using: &rng) }
    let c = try b.tensor(.f32, [m, n])
    try b.matmul(try b.upload(a, shape: [m, k]), try b.upload(w, shape: [k, n]), into: c)
    let got = try b.download(c)
    let rounded = Reference.matmul(a.map { Double(Reference.roundToBF16($0)) }, w.map { Double(Reference.roundToBF16($0)) },
                                   m: m, n: n, k: k, transposeA: false, transposeB: false)
    let exact = Reference.matmul(a.map(Double.init), w.map(Double.init), m: m, n: n, k: k, transposeA: false, transposeB: false)
    let err = zip(got, rounded).map { abs(Double($0) - $1) }.max()!, gap = zip(got, exact).map { abs(Double($0) - $1) }.max()!
    XCTAssertLessThan(err, 1e-4, "matches the bf16-rounding reference")
    XCTAssertGreaterThan(gap, 10 * err, "and differs from unrounded fp32 by much more: the rounding really happens")
  }

  func testHBMCapacityIsAnOutOfMemoryErrorNamingTheBytes() throws {
    let b = try backend([("hbm_bytes", "1000")])
    let held = try b.allocate(bytes: 600)
    XCTAssertThrowsError(try b.allocate(bytes: 500)) { error in
      XCTAssertEqual((error as? PluginError)?.code, .outOfMemory)
      XCTAssertTrue("\(error)".contains("500 bytes requested") && "\(error)".contains("400 bytes free"), "\(error)")
    }
    _ = held
  }
}
