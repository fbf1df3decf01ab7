import Foundation
@testable import RlaxModel
import XCTest

/// The model's hand-written backward against central finite differences of the float64
/// reference loss L = sum_n w_n * logprob_n, for every parameter tensor: at random coordinates
/// (plus its largest entry), and along one random direction u over the whole tensor
/// (grad . u against (L(p + h u) - L(p - h u)) / 2h), which checks every entry at once.
final class GradientCheckTests: XCTestCase {
  static let coordsPerTensor = 5
  static let tolerance = 1e-3
  /// Absolute floor of the coordinate checks, as a fraction of the largest checked gradient of
  /// the whole model; the directional checks' floor is that fraction of |grad|_2 of the tensor.
  static let floorFraction = 1e-2

  func check(_ v: Variant, padded: Bool = false, batch given: TokenBatch? = nil, coordsPerTensor: Int = coordsPerTensor,
             file: StaticString = #filePath, line: UInt = #line) throws {
    let label = "\(v.name)\(padded ? " + left-padded/kStart/custom positions" : "")"
    let model = try ModelTestSupport.makeModel(v, seed: 3)
    let batch = given ?? ModelTestSupport.batch(vocab: v.ref.vocab, padded: padded, seed: 5)
    var rng = TestRNG(17)
    let n = batch.batch * batch.length
    let weights = rng.normals(n, std: 1)

    try model.params.zeroGrads()
    let pass = try model.forward(batch)
    try model.backward(pass, dlogprobs: weights.map { Float($0) })

    let params = try ModelTestSupport.readParams(model)
    let ref = v.reference
    // The model declares exactly the tensors the docs list.
    let shapes = ref.parameterShapes()
    XCTAssertEqual(Set(model.params.entries.map(\.name)), Set(shapes.keys), "\(label): parameter names", file: file, line: line)
    for e in model.params.entries { XCTAssertEqual(e.shape, shapes[e.name], "\(label): shape of \(e.name)", file: file, line: line) }

    struct Result { var name: String; var analytic: [Double]; var numeric: [Double]; var dirA: Double; var dirN: Double; var norm: Double }
    var results: [Result] = []
    for e in model.params.entries {
      let analytic = try model.backend.download(model.params.grad(e.name)).map(Double.init)
      let p0 = params[e.name]!
      let loss: ([Double]) -> Double = { x in
        var q = params
        q[e.name] = x
        return ref.loss(q, batch, weights: weights)
      }
      // Random coordinates plus the largest analytic entry.
      var coords = Set((0..<coordsPerTensor).map { _ in rng.int(e.count) })
      if let big = analytic.indices.max(by: { abs(analytic[$0]) < abs(analytic[$1]) }) { coords.insert(big) }
      let sorted = coords.sorted()
      let numeric = finiteDifferences(p0, at: sorted, loss)
      // Directional derivative along u ~ N(0, 1).
      let u = rng.normals(e.count, std: 1), h = 1e-5
      let dirN = (loss(zip(p0, u).map { $0 + h * $1 }) - loss(zip(p0, u).map { $0 - h * $1 })) / (2 * h)
      let dirA = zip(analytic, u).reduce(0) { $0 + $1.0 * $1.1 }
      let norm = analytic.reduce(0) { $0 + $1 * $1 }.squareRoot()
      results.append(Result(name: e.name, analytic: sorted.map { analytic[$0] }, numeric: numeric, dirA: dirA, dirN: dirN, norm: norm))
    }
    let scale = results.map { maxAbs($0.numeric) }.max()!
    let floor = Self.floorFraction * scale
    var report = "gradients \(label) (grad scale \(String(format: "%.3g", scale))):"
    var worst = 0.0, worstDir = 0.0
    for r in results {
      let e = zip(r.analytic, r.numeric).map { relError($0, $1, floor: floor) }.max()!
      let d = relError(r.dirA, r.dirN, floor: max(Self.floorFraction * r.norm, 1e-6 * scale))
      worst = max(worst, e)
      worstDir = max(worstDir, d)
      report += "\n  \(r.name): coords max rel err \(String(format: "%.2e", e)) (|grad| up to \(String(format: "%.3g", maxAbs(r.numeric))))"
        + ", directional rel err \(String(format: "%.2e", d)) (|grad|_2 \(String(format: "%.3g", r.norm)))"
      if e > Self.tolerance {
        XCTFail("\(label): \(r.name) analytic \(r.analytic) vs numeric \(r.numeric) (rel err \(e))", file: file, line: line)
      }
      if d > Self.tolerance {
        XCTFail("\(label): \(r.name) directional derivative analytic \(r.dirA) vs numeric \(r.dirN) (rel err \(d))", file: file, line: line)
      }
    }
    print(report + "\n  worst: coords \(String(format: "%.2e", worst)), directional \(String(format: "%.2e", worstDir))")
  }

  func testDefault() throws { try check(.base) }
  func testNoQKNorm() throws { try check(.noQKNorm) }
  func testLearnedPositions() throws { try check(.learned) }
  func testUntied() throws { try check(.untied) }
  func testLeftPaddedWithKStart() throws { try check(.base, padded: true) }
  func testLearnedLeftPadded() throws { try check(.learned, padded: true) }
  func testMQA() throws { try check(.mqa, padded: true) }
  /// Across the cpu-blas attention's 128-query blocks, one row left-padded; directional checks
  /// and each tensor's largest entry only (the float64 reference is slow at this length).
  func testLongSequence() throws {
    try check(.long, batch: ModelTestSupport.longBatch(vocab: Variant.long.ref.vocab), coordsPerTensor: 0)
  }

  /// backward accumulates: two backward passes without zeroGrads give twice the gradient.
  func testBackwardAccumulates() throws {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v)
    let batch = ModelTestSupport.batch(vocab: v.ref.vocab)
    let w = [Float](repeating: 0.5, count: batch.batch * batch.length)
    try model.params.zeroGrads()
    let pass = try model.forward(batch)
    try model.backward(pass, dlogprobs: w)
    let once = try model.backend.download(model.params.flat(model.params.grads))
    try model.backward(pass, dlogprobs: w)
    let twice = try model.backend.download(model.params.flat(model.params.grads))
    for (a, b) in zip(once, twice) { XCTAssertEqual(2 * a, b, accuracy: 1e-5 * max(1, abs(b))) }
  }
}
