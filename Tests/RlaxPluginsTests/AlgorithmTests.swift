import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

/// GRPO through the Swift wrapper, against values worked out by hand.
final class AlgorithmTests: XCTestCase {
  func testGRPOAdvantagesAreGroupNormalisedRewards() throws {
    let grpo = try Algorithm(library: try TestSupport.bundled("grpo"))
    // Group 7: rewards 1,0,0,1 -> mean 0.5, population std 0.5 -> advantages 1,-1,-1,1.
    // Group 9: rewards 2,2 -> no spread -> 0. Row 1's second token is padding.
    let batch = RolloutBatch(numSequences: 6, numTokens: 2, groupIDs: [7, 7, 7, 7, 9, 9], rewards: [1, 0, 0, 1, 2, 2],
                             mask: [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1],
                             behaviorLogprobs: [Float](repeating: -1, count: 12), logprobs: [Float](repeating: -1, count: 12),
                             refLogprobs: [Float](repeating: -1, count: 12))
    let adv = try grpo.computeAdvantages(batch)
    let expected: [Float] = [1, 1, -1, 0, -1, -1, 1, 1, 0, 0, 0, 0]
    for (a, e) in zip(adv, expected) { XCTAssertEqual(a, e, accuracy: 1e-5) }
  }

  func testGRPOLossOnPolicyWithoutKLIsMinusMeanAdvantage() throws {
    // rho = 1 everywhere and beta = 0: L = -(1/N) sum_i (1/|o_i|) sum_t A_i, and
    // dL/dlogp_{i,t} = -A_i / (N |o_i|) (d rho / d logp = rho = 1).
    let grpo = try Algorithm(library: try TestSupport.bundled("grpo"), options: PluginOptions([("kl_beta", "0")]))
    var batch = RolloutBatch(numSequences: 2, numTokens: 3, groupIDs: [1, 1], rewards: [1, 0], mask: [1, 1, 1, 1, 0, 0],
                             behaviorLogprobs: [-1, -2, -3, -1, -1, -1], logprobs: [-1, -2, -3, -1, -1, -1])
    batch.advantages = try grpo.computeAdvantages(batch)
    let result = try grpo.computeLoss(batch)
    // advantages +1 and -1: L = -(1/2)(1 + -1) = 0
    XCTAssertEqual(result.loss, 0, accuracy: 1e-6)
    let expected: [Float] = [-1.0 / 6, -1.0 / 6, -1.0 / 6, 0.5, 0, 0]
    // (adv_eps = 1e-6 in the std makes |A| = 0.999998, hence the tolerance)
    for (g, e) in zip(result.dlossDlogprobs, expected) { XCTAssertEqual(g, e, accuracy: 1e-5) }
    XCTAssertEqual(result.metrics["clip_fraction"] ?? -1, 0, accuracy: 1e-9)
  }

  func testBadOptionsAreClearErrors() throws {
    let library = try TestSupport.bundled("grpo")
    XCTAssertThrowsError(try Algorithm(library: library, options: PluginOptions([("clip_hihg", "0.3")]))) { error in
      XCTAssertEqual((error as? PluginError)?.code, .invalidArgument)
      XCTAssertTrue("\(error)".contains("clip_hihg") && "\(error)".contains("clip_high"), "\(error)")
    }
    XCTAssertThrowsError(try Algorithm(library: library, options: PluginOptions([("clip_low", "2")]))) { error in
      XCTAssertTrue("\(error)".contains("clip_low"), "\(error)")
    }
  }

  func testBatchShapesAreCheckedBeforeThePluginIsCalled() throws {
    let grpo = try Algorithm(library: try TestSupport.bundled("grpo"))
    let batch = RolloutBatch(numSequences: 2, numTokens: 3, groupIDs: [1], rewards: [1, 0], mask: [1, 1, 1, 1, 0, 0],
                             behaviorLogprobs: [], logprobs: [-1, -2, -3, -1, -1, -1])
    XCTAssertThrowsError(try grpo.computeAdvantages(batch)) { error in
      XCTAssertTrue("\(error)".contains("group_ids has 1 values, expected 2"), "\(error)")
      XCTAssertTrue("\(error)".contains("behavior_logprobs has 0 values, expected 6"), "\(error)")
    }
  }
}
