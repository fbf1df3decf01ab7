import Foundation
import RlaxConformance
import RlaxModel
import XCTest

/// The reference model's own attention and RoPE agree with the FD-checked `Reference` ops, and
/// the forward comparison is sharp enough to see plausible mistakes: each deliberate error in
/// the reference makes it disagree with the model by far more than the tolerance.
final class ReferenceSelfTests: XCTestCase {
  func testAttentionAndRoPEMatchConformanceReference() {
    for v in [Variant.base, .mqa, .mha] {
      let ref = v.reference, c = v.ref
      let batch = RefBatch(ModelTestSupport.batch(vocab: c.vocab, padded: true))
      var rng = TestRNG(5)
      let q = rng.normals(batch.n * c.heads * c.headDim, std: 1)
      let k = rng.normals(batch.n * c.kvHeads * c.headDim, std: 1), val = rng.normals(k.count, std: 1)
      let shape = Reference.AttentionShape(b: batch.b, t: batch.t, s: batch.t, hq: c.heads, hkv: c.kvHeads, d: c.headDim,
                                           kStart: batch.kStart, scale: 1 / Double(c.headDim).squareRoot())
      let mine = ref.attend(q: q, k: k, v: val, batch), theirs = Reference.attentionForward(q: q, k: k, v: val, shape).out
      XCTAssertLessThan(zip(mine, theirs).map { abs($0 - $1) }.max()!, 1e-12, "\(v.name): attention")
      let r1 = ref.rope(q, batch, heads: c.heads)
      let r2 = Reference.rope(q, positions: batch.positions, b: batch.b, t: batch.t, h: c.heads, d: c.headDim, theta: c.theta)
      XCTAssertLessThan(zip(r1, r2).map { abs($0 - $1) }.max()!, 1e-12, "\(v.name): rope")
    }
  }

  func testComparisonDetectsDeliberateErrors() throws {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v)
    let batch = ModelTestSupport.batch(vocab: v.ref.vocab, padded: true)
    let got = try model.logprobs(model.forward(batch)).map(Double.init)
    let params = try ModelTestSupport.readParams(model)
    for m in RefConfig.Mutation.allCases {
      var ref = v.reference
      ref.c.mutation = m
      let lp = ref.forward(params, batch).logprobs
      let err = zip(got, lp).map { abs($0 - $1) }.max()!
      print("reference mutation \(m): model vs mutated reference max |dlogprob| \(String(format: "%.3g", err))")
      XCTAssertGreaterThan(err, 1e-2, "a reference with \(m) should disagree with the model")
    }
  }
}
