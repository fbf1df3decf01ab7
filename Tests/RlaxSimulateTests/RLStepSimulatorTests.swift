import Foundation
import RlaxSimulate
import XCTest

/// The cost model against numbers worked by hand.
final class RLStepSimulatorTests: XCTestCase {
  /// 2 layers, d 8, 2 query heads / 1 KV head of 4, SwiGLU 16, vocab 10.
  func small() -> SimulationConfig {
    var c = SimulationConfig()
    c.layers = 2; c.modelDim = 8; c.queryHeads = 2; c.kvHeads = 1; c.headDim = 4; c.ffnHiddenDim = 16; c.vocabSize = 10
    c.trainerTensorParallel = 1
    return c
  }

  func testParameterCountOfASmallConfigByHand() {
    var c = small()
    // per layer: q,k,v 8·(2+1+1)·4 = 128, out 8·8 = 64, biases (2+1+1)·4 = 16, SwiGLU 3·8·16 = 384, norms 2·8 = 16
    XCTAssertEqual(c.layerMatmulParameters, 128 + 64 + 384)
    XCTAssertEqual(c.layerParameters, 608)
    // 2 layers + embedding 80 + LM head 80 + final norm 8
    XCTAssertEqual(c.parameterCount, 2 * 608 + 80 + 80 + 8)
    XCTAssertEqual(c.matmulParameterCount, 2 * 576 + 80)
    c.tiedEmbeddings = true; c.qkvBias = false
    XCTAssertEqual(c.parameterCount, 2 * 592 + 80 + 8)
    XCTAssertEqual(c.kvBytesPerToken, 2 * 2 * 1 * 4 * 2)

    // The default: Qwen2.5-32B / QwQ-32B shapes.
    let d = SimulationConfig()
    XCTAssertEqual(d.layerParameters, 5120 * 7168 + 5120 * 5120 + 7168 + 3 * 5120 * 27648 + 2 * 5120)
    XCTAssertEqual(d.parameterCount, 32_763_876_352)
    XCTAssertEqual(d.matmulParameterCount, 31_984_189_440)
    XCTAssertEqual(d.kvBytesPerToken, 262_144)
  }

  /// A decode step with one sequence on one chip: every op is memory-bound, so the step is the
  /// bytes it moves over 2765e9 B/s.
  func testMemoryBoundDecodeStepIsBytesOverHBMBandwidth() throws {
    var c = SimulationConfig()
    c.layers = 1; c.modelDim = 128; c.queryHeads = 1; c.kvHeads = 1; c.headDim = 128; c.ffnHiddenDim = 128
    c.vocabSize = 128; c.qkvBias = false
    c.promptTokens = 64; c.responseTokens = 128; c.promptsPerStep = 1; c.samplesPerPrompt = 1
    c.trainerSlice = "v5p-8"; c.trainerTensorParallel = 1; c.inferenceSlice = "v5p-8"; c.inferenceTensorParallel = 1
    let p = try RLStepSimulator.project(c)
    XCTAssertEqual(p.rollout.batchPerReplica, 1)
    XCTAssertEqual(p.rollout.averageContextTokens, 128)
    // matmul bytes 2mk + 2kn + 4mn with m = 1 (bf16 in, fp32 out, as tpu-sim):
    let qkv = 2 * 128 + 2 * 128 * 384 + 4 * 384      // 100,096
    let out = 2 * 128 + 2 * 128 * 128 + 4 * 128      // 33,536 (also down and the LM head)
    let gateUp = 2 * 128 + 2 * 128 * 256 + 4 * 256   // 66,816
    let kv = 1 * 128 * 2 * 1 * 128 * 2              // context 128 x (k, v) x 1 head x 128 x bf16 = 65,536
    let bytes = Double(qkv + 3 * out + gateUp + kv)
    XCTAssertEqual(bytes, 333_056)
    XCTAssertEqual(p.rollout.decodeStepSeconds, bytes / 2765e9, accuracy: 1e-20)
    XCTAssertEqual(p.rollout.decodeStepMemorySeconds, bytes / 2765e9, accuracy: 1e-20)
    XCTAssertEqual(p.rollout.decodeStepCommunicationSeconds, 0)
    XCTAssertEqual(p.rollout.decodeBound, "memory")
    XCTAssertEqual(p.rollout.tokensPerSecond, 2765e9 / bytes, accuracy: 1e-3)
  }

  func testCollectivesFollowTheScalingBookFormulas() throws {
    let link = 9e10, hop = 1e-6
    // AllGather of V over one ring of 8: V / (2·link) + floor(8/2) hops.
    let ring8 = ICIGroup(axes: [.init(length: 8, ring: true)])
    XCTAssertEqual(ring8.allGatherSeconds(bytes: 1e9, link: link, hopLatency: hop), 1e9 / 1.8e11 + 4e-6, accuracy: 1e-15)
    XCTAssertEqual(ring8.reduceScatterSeconds(bytes: 1e9, link: link, hopLatency: hop), 1e9 / 1.8e11 + 4e-6, accuracy: 1e-15)
    // A line of 2: V / link + 1 hop.
    let line2 = ICIGroup(axes: [.init(length: 2, ring: false)])
    XCTAssertEqual(line2.allGatherSeconds(bytes: 9e8, link: link, hopLatency: hop), 0.01 + 1e-6, accuracy: 1e-15)
    // tpu-sim's worked all-reduces of 1e9 bytes: 4x4x4 3.716 ms, 2x4x4 (no wraparound) 7.421 ms.
    let cube = ICIGroup(axes: Array(repeating: .init(length: 4, ring: true), count: 3))
    XCTAssertEqual(cube.allReduceSeconds(bytes: 1e9, link: link, hopLatency: hop), 2e9 / 5.4e11 + 12e-6, accuracy: 1e-15)
    let open = ICIGroup(axes: [.init(length: 2, ring: false), .init(length: 4, ring: false), .init(length: 4, ring: false)])
    XCTAssertEqual(open.allReduceSeconds(bytes: 1e9, link: link, hopLatency: hop), 2e9 / 2.7e11 + 14e-6, accuracy: 1e-15)
    XCTAssertEqual(ICIGroup(axes: []).allReduceSeconds(bytes: 1e9, link: link, hopLatency: hop), 0)

    // Groups laid on slices.
    let v512 = try SliceTopology.parse("v5p-512")
    var (g, rest) = try v512.split(groupSize: 4)
    XCTAssertEqual(g.axes, [.init(length: 4, ring: true)])
    XCTAssertEqual(rest.axes, [.init(length: 8, ring: true), .init(length: 8, ring: true)])
    (g, rest) = try v512.split(groupSize: 8)
    XCTAssertEqual(g.axes, [.init(length: 8, ring: true)])
    XCTAssertEqual(rest.axes, [.init(length: 4, ring: true), .init(length: 8, ring: true)])
    (g, rest) = try SliceTopology.parse("v5p-128").split(groupSize: 8)
    XCTAssertEqual(g.axes, [.init(length: 4, ring: true), .init(length: 2, ring: false)])
    XCTAssertEqual(rest.axes, [.init(length: 2, ring: false), .init(length: 4, ring: true)])
  }

  func testSliceNamesCountTensorCores() throws {
    let expected: [(String, Int, String, Bool)] = [
      ("v5p-8", 4, "2x2x1", false), ("v5p-64", 32, "2x4x4", false), ("v5p-128", 64, "4x4x4", true),
      ("v5p-256", 128, "4x4x8", true), ("v5p-512", 256, "4x8x8", true), ("V5P-1024", 512, "8x8x8", true),
    ]
    for (name, chips, shape, wrap) in expected {
      let t = try SliceTopology.parse(name)
      XCTAssertEqual(t.chips, chips, name)
      XCTAssertEqual(t.shape, shape, name)
      XCTAssertEqual(t.wraparound, wrap, name)
    }
  }

  func testModelFLOPsAre6PTPlusAttentionAndMFUIsAtMostOne() throws {
    let c = SimulationConfig()
    let p = try RLStepSimulator.project(c)
    let P = 31_984_189_440.0, T = 9216.0, S = 4096.0
    let attention = 64 * T * T * 5120 * 0.5  // L·T²·d_attn·causal, per sequence
    XCTAssertEqual(p.trainer.updateModelFLOPs, 6 * P * S * T + S * 12 * attention, accuracy: 1e6)
    XCTAssertEqual(p.trainer.logprobModelFLOPs, 2 * P * S * T + S * 4 * attention, accuracy: 1e6)
    XCTAssertEqual(p.trainer.mfu, p.trainer.modelFLOPs / (256 * 459e12 * p.trainer.stepSeconds), accuracy: 1e-12)

    var configs = [c, small()]
    for tp in [1, 2, 8] { var d = c; d.trainerTensorParallel = tp; configs.append(d) }
    for r in RecomputePolicy.allCases { var d = c; d.recompute = r; d.trainerTensorParallel = 8; configs.append(d) }
    var d = c; d.overlapTensorParallelCommunication = true; configs.append(d)
    d.overlapFSDPCommunication = false; d.mxuEfficiency = 0.6; d.attentionCausalFraction = 1; configs.append(d)
    d = c; d.logprobForwardPasses = 0; d.promptTokens = 100; d.responseTokens = 300; configs.append(d)
    for config in configs {
      let p = try RLStepSimulator.project(config)
      XCTAssertGreaterThan(p.trainer.mfu, 0)
      XCTAssertLessThanOrEqual(p.trainer.mfu, 1)
      XCTAssertGreaterThanOrEqual(p.trainer.hardwareFLOPs, p.trainer.modelFLOPs)
      XCTAssertGreaterThanOrEqual(p.trainer.stepSeconds * Double(p.trainer.chips) * 459e12, p.trainer.hardwareFLOPs * 0.999)
    }
  }

  func testScalingTableRolloutThroughputGrowsWithInferenceSize() throws {
    let rows = try RLStepSimulator.scaling(SimulationConfig(), inferenceSlices: RLStepSimulator.defaultScalingSlices)
    XCTAssertEqual(rows.map(\.rollout.chips), [64, 128, 256, 512])
    for (a, b) in zip(rows, rows.dropFirst()) {
      XCTAssertGreaterThan(b.rollout.tokensPerSecond, a.rollout.tokensPerSecond)
      XCTAssertLessThan(b.rollout.generationSeconds, a.rollout.generationSeconds)
      XCTAssertLessThanOrEqual(b.stepSecondsOverlapped, a.stepSecondsOverlapped)
      XCTAssertEqual(b.trainer, a.trainer)
    }
    // Returns diminish: the trainer sets the pace at the largest fleet.
    XCTAssertEqual(rows.first?.bottleneck, "rollout")
    XCTAssertEqual(rows.last?.bottleneck, "trainer")
    XCTAssertEqual(rows.last!.stepSecondsOverlapped, rows.last!.trainerCycleSeconds)
    XCTAssertLessThan(rows.last!.rollout.tokensPerSecondPerChip, rows.first!.rollout.tokensPerSecondPerChip)
    let table = rows.table()
    XCTAssertEqual(table.split(separator: "\n").count, 6)
    XCTAssertTrue(table.contains("v5p-1024"))
  }

  func testStalenessZeroIsSerialAndOneOverlaps() throws {
    var c = SimulationConfig()
    c.staleness = 0
    let p = try RLStepSimulator.project(c)
    XCTAssertEqual(p.trainerCycleSeconds, p.trainer.stepSeconds + p.weightSync.pushSeconds, accuracy: 1e-12)
    XCTAssertEqual(p.inferenceCycleSeconds, p.weightSync.pullSeconds + p.rollout.prefillSeconds + p.rollout.decodeSeconds,
                   accuracy: 1e-9)
    XCTAssertEqual(p.stepSeconds, p.trainerCycleSeconds + p.inferenceCycleSeconds, accuracy: 1e-9)
    c.staleness = 2
    let q = try RLStepSimulator.project(c)
    XCTAssertEqual(q.stepSeconds, max(q.trainerCycleSeconds, q.inferenceCycleSeconds))
    // bf16 weights over DCN: 50 Gbps per chip, 4 chips per host, 64 trainer hosts = 64 PS hosts.
    XCTAssertEqual(q.weightSync.pushSeconds, 2 * 32_763_876_352 / (64 * 25e9), accuracy: 1e-12)
    XCTAssertEqual(q.weightSync.pullSeconds, 2 * 32_763_876_352 / (8 * 6.25e9), accuracy: 1e-12)
  }

  func testBadInputsGiveClearErrors() {
    func error(_ edit: (inout SimulationConfig) -> Void) -> SimulationError? {
      var c = SimulationConfig()
      edit(&c)
      do { _ = try RLStepSimulator.project(c); return nil } catch { return error as? SimulationError }
    }
    let unknown = error { $0.inferenceSlice = "v5p-100" }
    XCTAssertEqual(unknown, .unknownSlice(name: "v5p-100", known: SliceTopology.known.map(\.name)))
    XCTAssertTrue("\(unknown!)".contains("v5p-512"))
    XCTAssertEqual(error { $0.trainerTensorParallel = 3 },
                   .tensorParallelDoesNotDivideHeads(role: "trainer", degree: 3, queryHeads: 40, kvHeads: 8))
    XCTAssertEqual(error { $0.inferenceTensorParallel = 16 },
                   .tensorParallelDoesNotDivideHeads(role: "inference", degree: 16, queryHeads: 40, kvHeads: 8))
    XCTAssertEqual(error { $0.promptsPerStep = 0 }, .invalidValue(field: "promptsPerStep", value: "0", reason: "must be at least 1"))
    XCTAssertNotNil(error { $0.hbmReserveFraction = 1 })

    // The trainer on 4 chips: 18 B/param of state alone is 147 GB per chip.
    guard case let .doesNotFitHBM(role, needed, available, _)? = error({ $0.trainerSlice = "v5p-8" }) else {
      return XCTFail("expected doesNotFitHBM")
    }
    XCTAssertEqual(role, "trainer")
    XCTAssertGreaterThan(needed, 32_763_876_352 * 18 / 4)
    XCTAssertEqual(available, 102_005_473_280 * 0.9, accuracy: 1)

    // One inference chip on 70 GB: 65.5 GB of bf16 weights + 2.4 GB of KV > 63 GB usable.
    let small = error { $0.inferenceTensorParallel = 1; $0.hbmBytesPerChip = 70e9 }
    guard case let .doesNotFitHBM(role, needed, available, _)? = small else { return XCTFail("expected doesNotFitHBM") }
    XCTAssertEqual(role, "inference replica (TP 1)")
    let weightsAndOneSequence: Int = 2 * 32_763_876_352 + 262_144 * 9216 + 152_064 * 4
    XCTAssertEqual(needed, Double(weightsAndOneSequence), accuracy: 1)
    XCTAssertEqual(available, 63e9, accuracy: 1)
    XCTAssertTrue("\(small!)".contains("bytes"))
  }

  func testPartialJSONKeepsDefaultsAndProjectionEncodes() throws {
    let c = try JSONDecoder().decode(SimulationConfig.self, from: Data(#"{"promptsPerStep": 8, "recompute": "full"}"#.utf8))
    var expected = SimulationConfig()
    expected.promptsPerStep = 8; expected.recompute = .full
    XCTAssertEqual(c, expected)
    XCTAssertEqual(try JSONDecoder().decode(SimulationConfig.self, from: JSONEncoder().encode(c)), c)
    let p = try RLStepSimulator.project(c)
    XCTAssertEqual(try JSONDecoder().decode(Projection.self, from: JSONEncoder().encode(p)), p)
    let text = p.table()
    for needle in ["trainer step", "MFU", "tokens/s", "k = 0 (serial)", "k >= 1 (overlapped)", "push", "pull"] {
      XCTAssertTrue(text.contains(needle), needle)
    }
  }

  func testDecodeTurnsComputeBoundPastTheMXUTile() throws {
    // The ridge is 459e12 / 2765e9 = 166 tokens per weight byte pair; with M padded to 128, a
    // batch of 128 is still memory-bound and 129 (charged as 256) is compute-bound.
    let p = try RLStepSimulator.project(SimulationConfig())
    XCTAssertEqual(p.rollout.computeBoundFromBatch, 129)
    XCTAssertEqual(p.rollout.decodeBound, "memory")
  }
}
