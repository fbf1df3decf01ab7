import Foundation
import RlaxModel
import XCTest

final class DeterminismTests: XCTestCase {
  func snapshot(seed: UInt64) throws -> (params: [String: [UInt32]], logprobs: [UInt32]) {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v, seed: seed, perturb: false)
    var params: [String: [UInt32]] = [:]
    for e in model.params.entries { params[e.name] = try model.params.read(e.name).map(\.bitPattern) }
    let lp = try model.logprobs(model.forward(ModelTestSupport.batch(vocab: v.ref.vocab, padded: true)))
    return (params, lp.map(\.bitPattern))
  }

  func testSameSeedIsBitIdentical() throws {
    let a = try snapshot(seed: 7), b = try snapshot(seed: 7)
    XCTAssertEqual(a.params, b.params)
    XCTAssertEqual(a.logprobs, b.logprobs)
  }

  func testDifferentSeedsDiffer() throws {
    let a = try snapshot(seed: 7), b = try snapshot(seed: 8)
    for (name, values) in a.params where !name.hasSuffix(".scale") {
      XCTAssertNotEqual(values, b.params[name], "\(name) is the same for seeds 7 and 8")
    }
    XCTAssertNotEqual(a.logprobs, b.logprobs)
  }

  /// Initialisation follows docs/model.md: norm scales 1, matrices N(0, 0.02), block outputs
  /// N(0, 0.02 / sqrt(2 L)).
  func testInitialisationStatistics() throws {
    var v = Variant.base
    v.ref.dim = 64; v.ref.hidden = 96; v.ref.heads = 4; v.ref.headDim = 16
    let model = try ModelTestSupport.makeModel(v, seed: 1, perturb: false)
    let residualStd = 0.02 / Double(2 * v.ref.layers).squareRoot()
    for e in model.params.entries {
      let x = try model.params.read(e.name).map(Double.init)
      if e.name.hasSuffix(".scale") {
        XCTAssertTrue(x.allSatisfy { $0 == 1 }, "\(e.name) is not all ones")
        continue
      }
      let expected = e.name.hasSuffix(".wo") || e.name.hasSuffix(".w_down") ? residualStd : 0.02
      let mean = x.reduce(0, +) / Double(x.count)
      let std = (x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)).squareRoot()
      XCTAssertEqual(std / expected, 1, accuracy: 0.1, "\(e.name): std \(std), expected \(expected)")
      XCTAssertLessThan(abs(mean), 4 * expected / Double(x.count).squareRoot() + 1e-9, "\(e.name): mean \(mean)")
    }
  }
}

final class ValidationTests: XCTestCase {
  func assertThrows(_ config: DecoderConfig, mentioning needle: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let backend = try ModelTestSupport.backend()
    XCTAssertThrowsError(try DecoderModel(config: config, backend: backend), file: file, line: line) { error in
      XCTAssertTrue("\(error)".contains(needle), "error '\(error)' does not mention \(needle)", file: file, line: line)
    }
  }

  func testVocabSizeRequired() throws {
    var c = Variant.base.decoderConfig
    c.vocabSize = 0
    try assertThrows(c, mentioning: "model.vocabSize")
  }

  func testKVHeadsMustDivideHeads() throws {
    var c = Variant.base.decoderConfig
    c.layer.attention.numHeads = 4
    c.layer.attention.numKVHeads = 3
    try assertThrows(c, mentioning: "numKVHeads")
  }

  func testBatchLongerThanMaxSeqLenThrows() throws {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v)
    let t = v.ref.maxSeqLen + 1
    let batch = TokenBatch(batch: 1, length: t, tokens: [Int32](repeating: 1, count: t), targets: [Int32](repeating: 2, count: t))
    XCTAssertThrowsError(try model.forward(batch)) { error in
      XCTAssertTrue("\(error)".contains("maxSeqLen"), "error '\(error)' does not mention maxSeqLen")
    }
    // A position past maxSeqLen is refused as well.
    let farPosition = TokenBatch(batch: 1, length: 2, tokens: [1, 2], targets: [2, 3], positions: [0, Int32(v.ref.maxSeqLen)])
    XCTAssertThrowsError(try model.forward(farPosition))
    // Exactly maxSeqLen is fine.
    let full = TokenBatch(batch: 1, length: t - 1, tokens: [Int32](repeating: 1, count: t - 1), targets: [Int32](repeating: 2, count: t - 1))
    XCTAssertNoThrow(try model.forward(full))
  }

  func testMalformedBatchesThrow() throws {
    let v = Variant.base
    let model = try ModelTestSupport.makeModel(v)
    let V = Int32(v.ref.vocab)
    let bad: [(String, TokenBatch)] = [
      ("token count", TokenBatch(batch: 2, length: 3, tokens: [1, 2, 3], targets: [1, 2, 3, 4, 5, 6])),
      ("target count", TokenBatch(batch: 1, length: 3, tokens: [1, 2, 3], targets: [1, 2])),
      ("kStart count", TokenBatch(batch: 1, length: 2, tokens: [1, 2], targets: [1, 2], kStart: [0, 0])),
      ("token id >= vocab", TokenBatch(batch: 1, length: 2, tokens: [1, V], targets: [1, 2])),
      ("target id >= vocab", TokenBatch(batch: 1, length: 2, tokens: [1, 2], targets: [V, 2])),
    ]
    for (what, batch) in bad { XCTAssertThrowsError(try model.forward(batch), what) }
  }
}
