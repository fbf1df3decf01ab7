import Foundation

/// The machine's measured fp32 matmul peak: direct `cblas_sgemm` on square matrices, best of a
/// few timed runs. Model benchmarks report their achieved GFLOP/s as a ratio to it, measured
/// in the same run.
public enum SgemmPeak {
  public static func measure(_ direct: DirectSgemm, size n: Int = 1024, seconds: Double = 1.0) -> Double {
    var rng = SystemRandomNumberGenerator()
    let a = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
    let b = (0..<(n * n)).map { _ in Float.random(in: -1...1, using: &rng) }
    var c = [Float](repeating: 0, count: n * n)
    let run = { direct.multiply(a, b, into: &c, m: n, n: n, k: n) }
    run()
    var best = Double.infinity
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
      let start = Date()
      run()
      best = min(best, Date().timeIntervalSince(start))
    } while Date() < deadline
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
  }

  /// Runs `body` between two peak measurements and returns its result with the better peak
  /// and OpenBLAS's kernel family: on a shared machine the peak moves, and the ratio should not
  /// flatter a slow moment.
  public static func around<T>(_ body: () throws -> T) throws -> (result: T, peak: Double, kernels: String) {
    let direct = try DirectSgemm.load()
    let before = measure(direct)
    let result = try body()
    return (result, max(before, measure(direct)), direct.kernels)
  }
}
