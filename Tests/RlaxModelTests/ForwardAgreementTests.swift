import Foundation
@testable import RlaxModel
import XCTest

/// The fp32 model's logits and log-probs agree with the float64 reference model.
final class ForwardAgreementTests: XCTestCase {
  func check(_ v: Variant, padded: Bool = false, seed: UInt64 = 1, batch given: TokenBatch? = nil,
             file: StaticString = #filePath, line: UInt = #line) throws {
    let model = try ModelTestSupport.makeModel(v, seed: seed)
    let batch = given ?? ModelTestSupport.batch(vocab: v.ref.vocab, padded: padded, seed: seed &+ 7)
    let pass = try model.forward(batch)
    let logprobs = try model.logprobs(pass).map(Double.init)
    let logits = try model.backend.download(pass.logits).map(Double.init)
    let params = try ModelTestSupport.readParams(model)
    let ref = v.reference.forward(params, batch)

    let lpScale = max(1, maxAbs(ref.logprobs)), logitScale = max(1, maxAbs(ref.logits))
    let lpErr = zip(logprobs, ref.logprobs).map { abs($0 - $1) }.max()! / lpScale
    let logitErr = zip(logits, ref.logits).map { abs($0 - $1) }.max()! / logitScale
    let label = "\(v.name)\(padded ? " + left-padded/kStart/custom positions" : "")\(given != nil ? " B\(batch.batch) T\(batch.length)" : "")"
    // Inference mode (no lse saved) computes the same numbers.
    let inference = try model.logprobs(model.forward(batch, saveForBackward: false)).map(Double.init)
    XCTAssertEqual(inference, logprobs, "\(label): saveForBackward false changes the log-probs", file: file, line: line)
    print("forward \(label): logprob err \(lpErr) (scale \(lpScale)), logit err \(logitErr) (scale \(logitScale))")
    XCTAssertEqual(logprobs.count, ref.logprobs.count, file: file, line: line)
    XCTAssertLessThan(lpErr, 1e-4, "\(label): logprobs", file: file, line: line)
    XCTAssertLessThan(logitErr, 1e-4, "\(label): logits", file: file, line: line)
    // The perturbation makes the output non-trivial: log-probs spread, not all log(1/V).
    let spread = ref.logprobs.max()! - ref.logprobs.min()!
    XCTAssertGreaterThan(spread, 0.5, "\(label): the test model is too close to uniform to test anything", file: file, line: line)
  }

  func testDefault() throws { try check(.base) }
  func testDefaultLeftPadded() throws { try check(.base, padded: true) }
  func testNoQKNorm() throws { try check(.noQKNorm) }
  func testLearnedPositions() throws { try check(.learned) }
  func testLearnedPositionsLeftPadded() throws { try check(.learned, padded: true) }
  func testUntied() throws { try check(.untied) }
  func testMQA() throws { try check(.mqa, padded: true) }
  func testMHA() throws { try check(.mha) }

  /// Several random configurations (sizes, switches, seeds).
  func testRandomConfigs() throws {
    var rng = TestRNG(99)
    for i in 0..<6 {
      let heads = [1, 2, 4][rng.int(3)]
      let kv = [1, 2, 4].filter { heads % $0 == 0 }[rng.int([1, 2, 4].filter { heads % $0 == 0 }.count)]
      let dh = [2, 4, 6][rng.int(3)]
      var v = Variant.small("random #\(i) H\(heads)/K\(kv) Dh\(dh)", heads: heads, kvHeads: kv)
      v.ref.headDim = dh
      v.ref.dim = [8, 12, 16][rng.int(3)]
      v.ref.hidden = [5, 24][rng.int(2)]
      v.ref.vocab = [3, 11, 17][rng.int(3)]
      v.ref.layers = 1 + rng.int(3)
      v.ref.qkNorm = rng.int(2) == 0
      v.ref.learnedPositions = rng.int(2) == 0
      v.ref.tied = rng.int(2) == 0
      v.name += " L\(v.ref.layers) qk=\(v.ref.qkNorm) learned=\(v.ref.learnedPositions) tied=\(v.ref.tied)"
      try check(v, padded: rng.int(2) == 0, seed: UInt64(10 + i))
    }
  }

  func testLengthOne() throws {
    try check(.base, batch: TokenBatch(batch: 3, length: 1, tokens: [1, 5, 9], targets: [2, 0, 10]))
  }

  /// A sequence longer than the cpu-blas attention's query block (128 rows), left-padded.
  func testLongSequence() throws {
    try check(.long, batch: ModelTestSupport.longBatch(vocab: Variant.long.ref.vocab))
  }

  /// A prefix of a sequence gets the same log-probs alone as inside the longer batch (causality),
  /// checked on the model directly.
  func testCausality() throws {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v)
    let full = ModelTestSupport.batch(vocab: v.ref.vocab, b: 1, t: 7)
    let prefix = TokenBatch(batch: 1, length: 4, tokens: Array(full.tokens[0..<4]), targets: Array(full.targets[0..<4]))
    let a = try model.logprobs(model.forward(full)), b = try model.logprobs(model.forward(prefix))
    for i in 0..<4 { XCTAssertEqual(a[i], b[i], accuracy: 1e-5) }
  }
}
