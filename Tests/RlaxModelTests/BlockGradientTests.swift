import Foundation
@testable import RlaxModel
import RlaxPlugins
import XCTest

/// Input gradients of single blocks (DecoderLayer, Attention, FeedForward) on random input
/// against finite differences of the same block of the reference, so a wrong gradient is
/// located to a block. Loss: sum(dout * block(x)) with random dout; every input coordinate.
final class BlockGradientTests: XCTestCase {
  enum Block: String { case layer = "DecoderLayer", attention = "Attention", feedForward = "FeedForward" }

  func check(_ block: Block, _ v: Variant, padded: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
    let label = "\(block.rawValue) / \(v.name)\(padded ? " + left-padded" : "")"
    let model = try ModelTestSupport.makeModel(v, seed: 4)
    let b = model.backend, params = model.params
    let batch = ModelTestSupport.batch(vocab: v.ref.vocab, padded: padded, seed: 8)
    let n = batch.batch * batch.length, d = v.ref.dim
    var rng = TestRNG(23)
    let x = rng.normals(n * d, std: 1).map { Double(Float($0)) }
    let dout = rng.normals(n * d, std: 1).map { Double(Float($0)) }
    let xT = try b.upload(x.map { Float($0) }, shape: [n, d]), doutT = try b.upload(dout.map { Float($0) }, shape: [n, d])
    let mask = try model.makeMask(batch)
    let layer = model.layers[1]

    // Model side: output and dx.
    let out: [Double], dx: [Double]
    switch block {
    case .layer:
      let r = try layer.forward(b, params, x: xT, batch: batch.batch, length: batch.length, mask: mask, saveForBackward: true)
      out = try b.download(r.out).map(Double.init)
      dx = try b.download(layer.backward(b, params, saved: XCTUnwrap(r.saved), mask: mask, dout: doutT)).map(Double.init)
    case .attention:
      let residual = try b.upload([Float](repeating: 0, count: n * d), shape: [n, d])
      let saved = try layer.attention.forward(b, params, a: xT, batch: batch.batch, length: batch.length, mask: mask,
                                              residual: residual, saveForBackward: true)
      out = try b.download(residual).map(Double.init)
      let da = try b.upload([Float](repeating: 0, count: n * d), shape: [n, d])
      try layer.attention.backward(b, params, saved: XCTUnwrap(saved), mask: mask, dresidual: doutT, da: da)
      dx = try b.download(da).map(Double.init)
    case .feedForward:
      let residual = try b.upload([Float](repeating: 0, count: n * d), shape: [n, d])
      let saved = try layer.feedForward.forward(b, params, f: xT, residual: residual, saveForBackward: true)
      out = try b.download(residual).map(Double.init)
      let df = try b.upload([Float](repeating: 0, count: n * d), shape: [n, d])
      try layer.feedForward.backward(b, params, saved: XCTUnwrap(saved), dresidual: doutT, df: df)
      dx = try b.download(df).map(Double.init)
    }

    // Reference side.
    let ref = v.reference, p = try ModelTestSupport.readParams(model), rb = RefBatch(batch)
    let f: ([Double]) -> [Double] = { x in
      switch block {
      case .layer: ref.layer(x, index: 1, p, rb)
      case .attention: ref.attention(x, prefix: "layers.1.attn", p, rb)
      case .feedForward: ref.feedForward(x, prefix: "layers.1.ffn", p, rows: n)
      }
    }
    let refOut = f(x)
    let outErr = zip(out, refOut).map { abs($0 - $1) }.max()! / max(1, maxAbs(refOut))
    XCTAssertLessThan(outErr, 1e-5, "\(label): forward", file: file, line: line)

    let numeric = finiteDifferences(x, at: Array(0..<(n * d))) { x in zip(f(x), dout).reduce(0) { $0 + $1.0 * $1.1 } }
    let floor = 1e-2 * maxAbs(numeric)
    let errs = zip(dx, numeric).map { relError($0, $1, floor: floor) }
    let worst = errs.indices.max { errs[$0] < errs[$1] }!
    print("block \(label): forward err \(String(format: "%.2e", outErr)), dx max rel err \(String(format: "%.2e", errs[worst])) "
          + "(|dx| up to \(String(format: "%.3g", maxAbs(numeric))))")
    XCTAssertLessThan(errs[worst], 1e-3,
                      "\(label): dx[\(worst)] = \(dx[worst]) vs numeric \(numeric[worst])", file: file, line: line)
  }

  func testDecoderLayer() throws { try check(.layer, .base) }
  func testDecoderLayerLeftPadded() throws { try check(.layer, .base, padded: true) }
  func testDecoderLayerNoQKNormLearned() throws { try check(.layer, .mha) }
  func testAttention() throws { try check(.attention, .base) }
  func testAttentionLeftPadded() throws { try check(.attention, .base, padded: true) }
  func testAttentionNoQKNorm() throws { try check(.attention, .noQKNorm) }
  func testAttentionLearnedPositions() throws { try check(.attention, .learned, padded: true) }
  func testAttentionMQA() throws { try check(.attention, .mqa) }
  func testFeedForward() throws { try check(.feedForward, .base) }
}
