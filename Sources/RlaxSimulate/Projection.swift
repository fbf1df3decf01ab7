import Foundation

/// The trainer's share of one RL step.
public struct TrainerProjection: Codable, Equatable, Sendable {
  public var slice: String
  /// "4x8x8".
  public var topology: String
  public var chips: Int
  public var tensorParallel: Int
  /// Data-parallel replicas (chips / tensorParallel); FSDP shards over all chips.
  public var dataParallel: Int
  /// How the tensor-parallel and data-parallel groups lie on the torus, e.g. "4 (ring)".
  public var tensorParallelGroup: String
  public var dataParallelGroup: String
  public var sequencesPerReplica: Int
  public var microBatchSequences: Int
  public var gradientAccumulationSteps: Int
  public var activationRecomputation: Bool

  /// FSDP-sharded weights, master copy, Adam moments and gradient accumulator, per chip.
  public var stateBytesPerChip: Double
  /// Saved activations for one micro-batch, per chip.
  public var activationBytesPerChip: Double
  public var hbmBytesNeededPerChip: Double
  /// HBM x (1 − reserve).
  public var hbmBytesUsablePerChip: Double

  /// Model FLOPs of the update: 6·P·T + attention 12·L·T²·d_attn·causal per sequence.
  public var updateModelFLOPs: Double
  /// Model FLOPs of the forward-only log-prob passes: passes x (2·P·T + 4·L·T²·d_attn·causal).
  public var logprobModelFLOPs: Double
  /// update + logprob.
  public var modelFLOPs: Double
  /// MXU FLOPs charged on all trainer chips: padding, recomputation and the attention
  /// backward's recomputed q·kᵀ included.
  public var hardwareFLOPs: Double

  /// Σ over ops of max(MXU, VPU, HBM) time, per chip, for the whole step.
  public var computeSeconds: Double
  /// FSDP all-gathers (forward, backward) and gradient reduce-scatters.
  public var fsdpCommunicationSeconds: Double
  /// Tensor-parallel all-reduces of activations.
  public var tensorParallelCommunicationSeconds: Double
  /// Communication left on the critical path after overlap.
  public var exposedCommunicationSeconds: Double
  /// AdamW update: reads and writes the state once (memory-bound).
  public var optimizerSeconds: Double
  public var stepSeconds: Double
  /// modelFLOPs / (chips x 459e12 x stepSeconds).
  public var mfu: Double
}

/// Rollout generation on the inference slice.
public struct RolloutProjection: Codable, Equatable, Sendable {
  public var slice: String
  public var topology: String
  public var chips: Int
  public var tensorParallel: Int
  public var tensorParallelGroup: String
  public var replicas: Int
  /// Sequences decoded together on one replica.
  public var batchPerReplica: Int
  /// The largest batch whose KV cache fits HBM.
  public var maxBatchPerReplica: Int
  public var hbmBytesNeededPerChip: Double
  public var hbmBytesUsablePerChip: Double
  /// prompt + response/2: the mean context of a decode step.
  public var averageContextTokens: Double

  /// One decode step (one token for every sequence of a replica).
  public var decodeStepSeconds: Double
  /// Σ HBM time of the step's ops (weights, KV cache, activations).
  public var decodeStepMemorySeconds: Double
  /// Σ MXU/VPU time of the step's ops.
  public var decodeStepComputeSeconds: Double
  /// Tensor-parallel all-reduces (2 per layer), not overlapped.
  public var decodeStepCommunicationSeconds: Double
  /// "memory" or "compute": which side is larger, summed over the step's ops.
  public var decodeBound: String
  /// Smallest batch per replica at which the weight matmuls become compute-bound (nil if none
  /// up to 16384).
  public var computeBoundFromBatch: Int?

  public var tokensPerSecond: Double
  public var tokensPerSecondPerChip: Double
  /// Compute-bound prefill of every sample's prompt on the whole fleet.
  public var prefillSeconds: Double
  /// Sequences x response tokens / tokensPerSecond.
  public var decodeSeconds: Double
  public var generationSeconds: Double
}

/// Weight transfer trainer -> parameter server -> inference replicas.
public struct WeightSyncProjection: Codable, Equatable, Sendable {
  /// "DCN": the trainer and inference are separate slices; ICI does not cross slices.
  public var transport: String
  /// bf16 weights: 2 x parameters.
  public var weightBytes: Double
  public var hostBytesPerSecond: Double
  public var trainerHosts: Int
  public var parameterServerHosts: Int
  public var pushSeconds: Double
  public var pullSeconds: Double
}

/// Every output of `RLStepSimulator.project`.
public struct Projection: Codable, Equatable, Sendable {
  public var config: SimulationConfig
  public var parameterCount: Int
  public var matmulParameterCount: Int
  public var sequencesPerStep: Int
  /// Sequences x (prompt + response): what the trainer processes.
  public var trainedTokensPerStep: Int
  /// Sequences x response.
  public var generatedTokensPerStep: Int

  public var trainer: TrainerProjection
  public var rollout: RolloutProjection
  public var weightSync: WeightSyncProjection

  /// trainer step + push.
  public var trainerCycleSeconds: Double
  /// pull + prefill + decode.
  public var inferenceCycleSeconds: Double
  /// k = 0: generation, then training, then the weights move; all serial.
  public var stepSecondsOnPolicy: Double
  /// k >= 1: the two cycles overlap; the slower one sets the pace.
  public var stepSecondsOverlapped: Double
  /// For `config.staleness`.
  public var stepSeconds: Double
  /// "trainer" or "rollout": the longer cycle.
  public var bottleneck: String

  /// The projection as a report for `rlax simulate`.
  public func table() -> String {
    let c = config, t = trainer, r = rollout, w = weightSync
    var out: [String] = []
    func line(_ s: String) { out.append(s) }
    func row(_ label: String, _ value: String) { out.append("  " + label.padding(toLength: 24, withPad: " ", startingAt: 0) + value) }
    line("rlax simulate: one RL step, cost only (shapes, no numerics); TPU v5p constants from tpu-sim")
    line("model     \(grouped(parameterCount)) parameters (\(grouped(matmulParameterCount)) in matmuls): "
      + "\(c.layers) layers, d \(c.modelDim), \(c.queryHeads)q/\(c.kvHeads)kv heads x \(c.headDim), "
      + "SwiGLU \(c.ffnHiddenDim), vocab \(c.vocabSize)")
    line("workload  \(c.promptsPerStep) prompts x \(c.samplesPerPrompt) samples = \(sequencesPerStep) sequences of "
      + "\(c.promptTokens) + \(c.responseTokens) tokens; \(grouped(trainedTokensPerStep)) trained, "
      + "\(grouped(generatedTokensPerStep)) generated per step")
    line("trainer   \(t.slice) (\(t.topology), \(t.chips) chips): TP \(t.tensorParallel) [\(t.tensorParallelGroup)] x "
      + "DP \(t.dataParallel) [\(t.dataParallelGroup)], FSDP over all chips; micro-batch \(t.microBatchSequences) seq, "
      + "\(t.gradientAccumulationSteps) accumulation steps; recompute \(t.activationRecomputation ? "full" : "none")")
    row("HBM per chip", "\(formatBytes(t.hbmBytesNeededPerChip)) of \(formatBytes(t.hbmBytesUsablePerChip)) usable "
      + "(state \(formatBytes(t.stateBytesPerChip)), activations \(formatBytes(t.activationBytesPerChip)))")
    row("model FLOPs", String(format: "%.3e (update %.3e + log-prob %.3e); hardware %.3e",
                              t.modelFLOPs, t.updateModelFLOPs, t.logprobModelFLOPs, t.hardwareFLOPs))
    row("compute", seconds(t.computeSeconds))
    row("FSDP comm", seconds(t.fsdpCommunicationSeconds) + (c.overlapFSDPCommunication ? " (overlapped)" : " (exposed)"))
    row("TP all-reduce", seconds(t.tensorParallelCommunicationSeconds)
      + (c.overlapTensorParallelCommunication ? " (overlapped)" : " (exposed)"))
    row("exposed comm", seconds(t.exposedCommunicationSeconds))
    row("optimizer", seconds(t.optimizerSeconds))
    row("trainer step", seconds(t.stepSeconds) + String(format: "   MFU %.1f%%", 100 * t.mfu))
    line("rollout   \(r.slice) (\(r.topology), \(r.chips) chips): \(r.replicas) replicas x TP \(r.tensorParallel) "
      + "[\(r.tensorParallelGroup)]; batch \(r.batchPerReplica) per replica (HBM fits \(r.maxBatchPerReplica))")
    row("HBM per chip", "\(formatBytes(r.hbmBytesNeededPerChip)) of \(formatBytes(r.hbmBytesUsablePerChip)) usable")
    row("decode step", seconds(r.decodeStepSeconds) + " (memory " + seconds(r.decodeStepMemorySeconds) + ", compute "
      + seconds(r.decodeStepComputeSeconds) + ", TP all-reduce " + seconds(r.decodeStepCommunicationSeconds)
      + "): \(r.decodeBound)-bound at context \(Int(r.averageContextTokens))"
      + (r.computeBoundFromBatch.map { "; weight matmuls compute-bound from batch \($0)" } ?? ""))
    row("throughput", "\(grouped(Int(r.tokensPerSecond.rounded()))) tokens/s "
      + "(\(grouped(Int(r.tokensPerSecondPerChip.rounded()))) per chip)")
    row("prefill", seconds(r.prefillSeconds))
    row("decode", seconds(r.decodeSeconds))
    row("generation", seconds(r.generationSeconds))
    line("weights   \(formatBytes(w.weightBytes)) bf16 over \(w.transport) "
      + "(\(formatBytes(w.hostBytesPerSecond))/s per host; \(w.trainerHosts) trainer hosts, \(w.parameterServerHosts) PS hosts)")
    row("push (trainer -> PS)", seconds(w.pushSeconds))
    row("pull (PS -> replicas)", seconds(w.pullSeconds))
    line("step      trainer cycle \(seconds(trainerCycleSeconds)), inference cycle \(seconds(inferenceCycleSeconds))")
    row("k = 0 (serial)", seconds(stepSecondsOnPolicy))
    row("k >= 1 (overlapped)", seconds(stepSecondsOverlapped) + "   bottleneck: \(bottleneck)")
    return out.joined(separator: "\n") + "\n"
  }
}

extension Array where Element == Projection {
  /// The scaling table: one row per projection (inference slice), for `rlax simulate`.
  public func table() -> String {
    let header = ["inference", "chips", "TP", "replicas", "batch", "tokens/s", "tok/s/chip", "gen s", "train s",
                  "k=0 s", "k>=1 s", "bottleneck"]
    let rows: [[String]] = map { p in
      [p.rollout.slice, String(p.rollout.chips), String(p.rollout.tensorParallel), String(p.rollout.replicas),
       String(p.rollout.batchPerReplica), grouped(Int(p.rollout.tokensPerSecond.rounded())),
       grouped(Int(p.rollout.tokensPerSecondPerChip.rounded())),
       String(format: "%.1f", p.inferenceCycleSeconds), String(format: "%.1f", p.trainerCycleSeconds),
       String(format: "%.1f", p.stepSecondsOnPolicy), String(format: "%.1f", p.stepSecondsOverlapped), p.bottleneck]
    }
    let widths = header.indices.map { i in ([header[i]] + rows.map { $0[i] }).map(\.count).max()! }
    func render(_ cells: [String]) -> String {
      cells.enumerated().map { i, s in
        i == 0 || i == cells.count - 1 ? s.padding(toLength: widths[i], withPad: " ", startingAt: 0)
          : String(repeating: " ", count: widths[i] - s.count) + s
      }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }
    var out = [render(header)]
    out += rows.map(render)
    if let first = first {
      out.append("trainer fixed: \(first.trainer.slice); gen s = pull + prefill + decode; train s = trainer step + push")
    }
    return out.joined(separator: "\n") + "\n"
  }
}

/// 32763876352 -> "32,763,876,352".
func grouped(_ n: Int) -> String {
  let digits = String(n.magnitude)
  var out = ""
  for (i, ch) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(ch)
  }
  return (n < 0 ? "-" : "") + out
}

/// "117.53 s", "13.62 ms", "41.0 µs".
func seconds(_ s: Double) -> String {
  if s >= 1 { return String(format: "%.2f s", s) }
  if s >= 1e-3 { return String(format: "%.2f ms", s * 1e3) }
  return String(format: "%.1f µs", s * 1e6)
}
