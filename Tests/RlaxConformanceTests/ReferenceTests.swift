import Foundation
import RlaxConformance
import XCTest

/// The suite's float64 references are themselves checked: forward values against hand-worked
/// cases, and every backward against central finite differences of its forward.
final class ReferenceTests: XCTestCase {
  var seed: UInt64 = 1
  func random(_ n: Int, _ lo: Double = -1, _ hi: Double = 1) -> [Double] {
    (0..<n).map { _ in
      seed = seed &* 6364136223846793005 &+ 1442695040888963407
      return lo + (hi - lo) * Double(seed >> 11) / Double(1 << 53)
    }
  }

  /// d(sum(weights * f(x)))/dx by central differences.
  func numericGradient(_ x: [Double], weights: [Double], _ f: ([Double]) -> [Double]) -> [Double] {
    let h = 1e-6
    return x.indices.map { i in
      var up = x, down = x
      up[i] += h
      down[i] -= h
      let fu = zip(f(up), weights).reduce(0) { $0 + $1.0 * $1.1 }
      let fd = zip(f(down), weights).reduce(0) { $0 + $1.0 * $1.1 }
      return (fu - fd) / (2 * h)
    }
  }

  func assertClose(_ a: [Double], _ b: [Double], tol: Double = 1e-6, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    let err = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThan(err, tol, "\(what): max error \(err)", file: file, line: line)
  }

  func testHandWorkedForwardValues() {
    XCTAssertEqual(Reference.matmul([1, 2, 3, 4], [5, 6, 7, 8], m: 2, n: 2, k: 2, transposeA: false, transposeB: false), [19, 22, 43, 50])
    XCTAssertEqual(Reference.matmul([1, 3, 2, 4], [5, 6, 7, 8], m: 2, n: 2, k: 2, transposeA: true, transposeB: false), [19, 22, 43, 50])
    // softmax of [0, ln 3] is [1/4, 3/4]
    assertClose(Reference.softmax([0, log(3)], rows: 1, cols: 2), [0.25, 0.75], "softmax")
    // rmsnorm of [3, 4] with eps 0: rms = sqrt(12.5)
    assertClose(Reference.rmsnormForward([3, 4], [1, 2], rows: 1, d: 2, eps: 0).out, [3 / 12.5.squareRoot(), 8 / 12.5.squareRoot()], "rmsnorm")
    // rope at position 1 with D = 2 rotates (1, 0) by 1 radian
    assertClose(Reference.rope([1, 0], positions: [1], b: 1, t: 1, h: 1, d: 2, theta: 10000), [cos(1), sin(1)], "rope")
    // bf16 rounding: 1 + 2^-8 is a tie and rounds to even (1.0); 1 + 3*2^-8 rounds up to 1 + 2^-6
    XCTAssertEqual(Reference.roundToBF16(1.00390625), 1.0)
    XCTAssertEqual(Reference.roundToBF16(1.01171875), 1.015625)
    // attention with one key returns that key's value
    let one = Reference.attentionForward(q: [1, 2], k: [3, 4], v: [5, 6], .init(b: 1, t: 1, s: 1, hq: 1, hkv: 1, d: 2, scale: 1))
    assertClose(one.out, [5, 6], "attention of one key")
    assertClose(one.lse, [11], "lse of one key")
    // log-softmax gather of uniform logits is -log V
    assertClose(Reference.logSoftmaxGatherForward(logits: [2, 2, 2, 2], targets: [1], v: 4).logprobs, [-log(4)], "uniform")
    // AdamW first step moves each parameter by lr * sign(g) (bias-corrected m/sqrt(v) = ±1), plus decay
    let step = Reference.adamw(param: [1, 1], grad: [0.3, -2], m: [0, 0], v: [0, 0], lr: 0.1, beta1: 0.9, beta2: 0.999,
                               eps: 0, weightDecay: 0, gradScale: 1, step: 1)
    assertClose(step.param, [0.9, 1.1], "adamw first step")
  }

  func testRMSNormBackwardMatchesFiniteDifferences() {
    let (rows, d) = (3, 5)
    let x = random(rows * d), w = random(d, 0.5, 1.5), dout = random(rows * d)
    let g = Reference.rmsnormBackward(x, w, dout: dout, rows: rows, d: d, eps: 1e-5)
    assertClose(g.dx, numericGradient(x, weights: dout) { Reference.rmsnormForward($0, w, rows: rows, d: d, eps: 1e-5).out }, "dx")
    assertClose(g.dw, numericGradient(w, weights: dout) { Reference.rmsnormForward(x, $0, rows: rows, d: d, eps: 1e-5).out }, "dw")
  }

  func testRoPEBackwardMatchesFiniteDifferences() {
    let x = random(2 * 3 * 2 * 6), dout = random(x.count), pos: [Int32] = [0, 5, 9, 2, 2, 40]
    let g = Reference.rope(dout, positions: pos, b: 2, t: 3, h: 2, d: 6, theta: 500_000, inverse: true)
    assertClose(g, numericGradient(x, weights: dout) { Reference.rope($0, positions: pos, b: 2, t: 3, h: 2, d: 6, theta: 500_000) }, "dx")
  }

  func testSwiGLUBackwardMatchesFiniteDifferences() {
    let gate = random(7, -4, 4), up = random(7), dout = random(7)
    let g = Reference.swigluBackward(gate, up, dout: dout)
    assertClose(g.dgate, numericGradient(gate, weights: dout) { Reference.swigluForward($0, up) }, "dgate")
    assertClose(g.dup, numericGradient(up, weights: dout) { Reference.swigluForward(gate, $0) }, "dup")
  }

  func testAttentionBackwardMatchesFiniteDifferences() {
    for shape in [Reference.AttentionShape(b: 2, t: 4, s: 4, hq: 4, hkv: 2, d: 3, scale: 0.7),
                  Reference.AttentionShape(b: 2, t: 2, s: 5, hq: 2, hkv: 1, d: 3, qPositions: [3, 4, 2, 4], kStart: [0, 2], scale: 0.5)] {
      let qn = shape.b * shape.t * shape.hq * shape.d, kn = shape.b * shape.s * shape.hkv * shape.d
      let q = random(qn), k = random(kn), v = random(kn), dout = random(qn)
      let g = Reference.attentionBackward(q: q, k: k, v: v, dout: dout, shape)
      assertClose(g.dq, numericGradient(q, weights: dout) { Reference.attentionForward(q: $0, k: k, v: v, shape).out }, "dq")
      assertClose(g.dk, numericGradient(k, weights: dout) { Reference.attentionForward(q: q, k: $0, v: v, shape).out }, "dk")
      assertClose(g.dv, numericGradient(v, weights: dout) { Reference.attentionForward(q: q, k: k, v: $0, shape).out }, "dv")
    }
  }

  func testEmbeddingAndLogSoftmaxBackwardMatchFiniteDifferences() {
    let table = random(4 * 3), ids: [Int32] = [2, 0, 2], dout = random(9)
    assertClose(Reference.embeddingBackward(ids: ids, dout: dout, vocab: 4, d: 3),
                numericGradient(table, weights: dout) { Reference.embeddingForward(table: $0, ids: ids, d: 3) }, "dtable")
    let logits = random(3 * 5, -3, 3), targets: [Int32] = [4, 0, 2], dlp = random(3)
    assertClose(Reference.logSoftmaxGatherBackward(logits: logits, targets: targets, dlogprobs: dlp, v: 5),
                numericGradient(logits, weights: dlp) { Reference.logSoftmaxGatherForward(logits: $0, targets: targets, v: 5).logprobs }, "dlogits")
  }
}
