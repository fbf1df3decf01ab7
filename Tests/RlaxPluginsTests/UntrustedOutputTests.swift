import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// The host trusts no plugin output: what an algorithm or a weight store returns with a
/// success code is checked before anything uses it (Tests/Fixtures/broken/lying_*.c).
final class UntrustedOutputTests: XCTestCase {
  static let lyingAlgorithm = Result { try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_algorithm.c"], name: "lying-algorithm") }
  static let lyingStore = Result { try TestSupport.compilePlugin(["Tests/Fixtures/broken/lying_store.c"], name: "lying-store") }

  /// Two groups of two sequences, 4 tokens; sequence 0's last token is padding.
  func batch() -> RolloutBatch {
    RolloutBatch(numSequences: 4, numTokens: 4, groupIDs: [1, 1, 2, 2], rewards: [1, 0, 0, 1],
                 mask: [1, 1, 1, 0] + [Float](repeating: 1, count: 12),
                 behaviorLogprobs: [Float](repeating: -1, count: 16), logprobs: [Float](repeating: -1, count: 16))
  }

  func algorithm(lie: Int) throws -> Algorithm {
    try Algorithm(library: try PluginLibrary.open(path: try Self.lyingAlgorithm.get()), options: PluginOptions([("lie", "\(lie)")]))
  }

  func message(_ body: () throws -> Any) -> String {
    do {
      _ = try body()
      return "(no error)"
    } catch {
      return "\(error)"
    }
  }

  func testAnHonestRunOfTheFixtureIsAccepted() throws {
    let a = try algorithm(lie: 0)
    var b = batch()
    b.advantages = try a.computeAdvantages(b)
    let result = try a.computeLoss(b)
    XCTAssertTrue(result.loss.isFinite)
    XCTAssertEqual(result.dlossDlogprobs[3], 0)
  }

  func testNonFiniteLossAdvantagesOrGradientsAreCaughtWithThePluginAndFirstBadIndex() throws {
    var b = batch()
    // lie=2: advantages[1, 2] = +inf
    let adv = message { try self.algorithm(lie: 2).computeAdvantages(b) }
    XCTAssertTrue(adv.contains("plugin 'lying-algorithm': compute_advantages returned bad output"), adv)
    XCTAssertTrue(adv.contains("advantages[1, 2] (sequence 1, token 2) is inf, not a finite number"), adv)
    b.advantages = try algorithm(lie: 0).computeAdvantages(b)
    // lie=1: the loss is NaN
    let loss = message { try self.algorithm(lie: 1).computeLoss(b) }
    XCTAssertTrue(loss.contains("plugin 'lying-algorithm': compute_loss returned bad output: the loss is nan"), loss)
    XCTAssertTrue(loss.contains("the weights are not updated"), loss)
    // lie=3: dloss_dlogprobs[1, 2] = NaN
    let grad = message { try self.algorithm(lie: 3).computeLoss(b) }
    XCTAssertTrue(grad.contains("compute_loss returned bad output: dloss_dlogprobs[1, 2] (sequence 1, token 2) is nan"), grad)
  }

  func testAGradientOnPaddingIsCaught() throws {
    var b = batch()
    b.advantages = try algorithm(lie: 0).computeAdvantages(b)
    // lie=4: 0.5 on the first token whose mask is 0: sequence 0, token 3
    let text = message { try self.algorithm(lie: 4).computeLoss(b) }
    XCTAssertTrue(text.contains("plugin 'lying-algorithm': compute_loss returned bad output: dloss_dlogprobs[0, 3] (sequence 0, token 3) is 0.5 on padding (mask 0)"), text)
  }

  // MARK: weight stores

  func store(lie: String) throws -> WeightStore {
    let store = try WeightStore(library: try PluginLibrary.open(path: try Self.lyingStore.get()), options: PluginOptions([("lie", lie)]))
    try store.publish(version: 1, tensors: [HostTensor(name: "w", shape: [2, 3], floats: [1, 2, 3, 4, 5, 6]),
                                            HostTensor(name: "b", shape: [2], floats: [7, 8])])
    return store
  }

  func testAnHonestFixtureStoreRoundTrips() throws {
    let tensors = try store(lie: "none").fetch(version: 1)
    XCTAssertEqual(tensors.map(\.name), ["w", "b"])
    XCTAssertEqual(tensors[0].floats, [1, 2, 3, 4, 5, 6])
  }

  func testRankDimsAndNbytesFromAStoreAreValidatedBeforeUse() throws {
    let expectations = [
      "rank": "tensor_info(version 1, index 0) returned bad output: tensor 'w' has rank 99, expected 0...8",
      "nbytes": "tensor 'w' of shape [2, 3] and dtype F32 has nbytes 28, expected 24 (= 4 x 2 x 3)",
      "huge": "tensor 'w' of shape [4611686018427387904, 16] and dtype F32 would take more than 9223372036854775807 bytes",
      "negative": "tensor 'w' has dimension 0 = -3 (shape [-3, 3]), expected >= 0",
    ]
    for (lie, expected) in expectations.sorted(by: { $0.key < $1.key }) {
      let s = try store(lie: lie)
      let text = message { try s.fetch(version: 1) }
      XCTAssertTrue(text.hasPrefix("plugin 'lying-store': "), "\(lie): \(text)")
      XCTAssertTrue(text.contains(expected), "\(lie): \(text)")
    }
  }

  func testAnUnwrittenOrHalfWrittenTensorIsAnErrorNotZeros() throws {
    let unwritten = message { try self.store(lie: "unwritten").fetch(version: 1) }
    XCTAssertTrue(unwritten.contains("plugin 'lying-store': fetch(version 1) returned bad output: reported success but left tensor 'w' unwritten (bytes 0..<24 of 24 untouched)"), unwritten)
    let partial = message { try self.store(lie: "partial").fetch(version: 1) }
    XCTAssertTrue(partial.contains("left tensor 'w' unwritten (bytes 12..<24 of 24 untouched)"), partial)
  }

  func testAMissingTensorAskedForByNameIsAnError() throws {
    let text = message { try self.store(lie: "none").fetch(version: 1, names: ["w", "nope"]) }
    XCTAssertTrue(text.contains("plugin 'lying-store': fetch(version 1) returned bad output: tensor 'nope' is missing from the version"), text)
  }
}
