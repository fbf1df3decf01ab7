import Foundation

/// Cost-only projection of one RL step (shapes, no numerics) for a dense decoder on a TPU v5p
/// trainer slice and a v5p inference slice. The model, every formula and every assumption are
/// in docs/tpu-sim.md, section "rlax simulate".
public enum RLStepSimulator {
  /// The default scaling table's inference slices.
  public static let defaultScalingSlices = ["v5p-128", "v5p-256", "v5p-512", "v5p-1024"]

  public static func project(_ c: SimulationConfig) throws -> Projection {
    try validate(c)
    let trainer = try projectTrainer(c)
    let rollout = try projectRollout(c)
    let sync = projectWeightSync(c, trainer: trainer, rollout: rollout)
    let trainerCycle = trainer.stepSeconds + sync.pushSeconds
    let inferenceCycle = sync.pullSeconds + rollout.generationSeconds
    let serial = trainerCycle + inferenceCycle
    let overlapped = max(trainerCycle, inferenceCycle)
    return Projection(
      config: c, parameterCount: c.parameterCount, matmulParameterCount: c.matmulParameterCount,
      sequencesPerStep: c.sequencesPerStep, trainedTokensPerStep: c.sequencesPerStep * c.sequenceTokens,
      generatedTokensPerStep: c.sequencesPerStep * c.responseTokens,
      trainer: trainer, rollout: rollout, weightSync: sync,
      trainerCycleSeconds: trainerCycle, inferenceCycleSeconds: inferenceCycle,
      stepSecondsOnPolicy: serial, stepSecondsOverlapped: overlapped,
      stepSeconds: c.staleness == 0 ? serial : overlapped,
      bottleneck: trainerCycle >= inferenceCycle ? "trainer" : "rollout")
  }

  /// One projection per inference slice, everything else (the trainer included) fixed.
  public static func scaling(_ c: SimulationConfig, inferenceSlices: [String]) throws -> [Projection] {
    try inferenceSlices.map { slice in
      var d = c
      d.inferenceSlice = slice
      return try project(d)
    }
  }

  // MARK: Validation

  static func validate(_ c: SimulationConfig) throws {
    func positive(_ name: String, _ v: Int) throws {
      if v < 1 { throw SimulationError.invalidValue(field: name, value: String(v), reason: "must be at least 1") }
    }
    func nonNegative(_ name: String, _ v: Int) throws {
      if v < 0 { throw SimulationError.invalidValue(field: name, value: String(v), reason: "must be 0 or more") }
    }
    func positive(_ name: String, _ v: Double) throws {
      if !(v > 0 && v.isFinite) {
        throw SimulationError.invalidValue(field: name, value: "\(v)", reason: "must be a finite number above 0")
      }
    }
    try positive("layers", c.layers)
    try positive("modelDim", c.modelDim)
    try positive("queryHeads", c.queryHeads)
    try positive("kvHeads", c.kvHeads)
    try positive("headDim", c.headDim)
    try positive("ffnHiddenDim", c.ffnHiddenDim)
    try positive("vocabSize", c.vocabSize)
    try positive("promptTokens", c.promptTokens)
    try positive("responseTokens", c.responseTokens)
    try positive("samplesPerPrompt", c.samplesPerPrompt)
    try positive("promptsPerStep", c.promptsPerStep)
    try nonNegative("logprobForwardPasses", c.logprobForwardPasses)
    try nonNegative("staleness", c.staleness)
    try positive("trainerTensorParallel", c.trainerTensorParallel)
    try positive("trainerMicroBatchSequences", c.trainerMicroBatchSequences)
    try nonNegative("inferenceTensorParallel", c.inferenceTensorParallel)
    try positive("mxuTile", c.mxuTile)
    try positive("chipsPerHost", c.chipsPerHost)
    try nonNegative("parameterServerHosts", c.parameterServerHosts)
    try positive("trainerStateBytesPerParameter", c.trainerStateBytesPerParameter)
    try positive("gradientReduceBytesPerParameter", c.gradientReduceBytesPerParameter)
    try positive("peakFlopsPerSecondBf16", c.peakFlopsPerSecondBf16)
    try positive("hbmBytesPerSecond", c.hbmBytesPerSecond)
    try positive("hbmBytesPerChip", c.hbmBytesPerChip)
    try positive("vpuFlopsPerSecond", c.vpuFlopsPerSecond)
    try positive("iciLinkBytesPerSecond", c.iciLinkBytesPerSecond)
    try positive("dcnBytesPerSecondPerChip", c.dcnBytesPerSecondPerChip)
    if !(c.iciHopLatencySeconds >= 0 && c.iciHopLatencySeconds.isFinite) {
      throw SimulationError.invalidValue(field: "iciHopLatencySeconds", value: "\(c.iciHopLatencySeconds)", reason: "must be 0 or more")
    }
    if !(c.mxuEfficiency > 0 && c.mxuEfficiency <= 1) {
      throw SimulationError.invalidValue(field: "mxuEfficiency", value: "\(c.mxuEfficiency)", reason: "must be in (0, 1]")
    }
    if !(c.hbmReserveFraction >= 0 && c.hbmReserveFraction < 1) {
      throw SimulationError.invalidValue(field: "hbmReserveFraction", value: "\(c.hbmReserveFraction)", reason: "must be in [0, 1)")
    }
    if !(c.attentionCausalFraction > 0 && c.attentionCausalFraction <= 1) {
      throw SimulationError.invalidValue(field: "attentionCausalFraction", value: "\(c.attentionCausalFraction)",
                                         reason: "must be in (0, 1]")
    }
    if c.queryHeads % c.kvHeads != 0 {
      throw SimulationError.invalidValue(field: "kvHeads", value: String(c.kvHeads),
                                         reason: "must divide queryHeads (\(c.queryHeads)) for GQA")
    }
    try checkHeads(role: "trainer", degree: c.trainerTensorParallel, c)
    if c.inferenceTensorParallel > 0 { try checkHeads(role: "inference", degree: c.inferenceTensorParallel, c) }
  }

  static func checkHeads(role: String, degree: Int, _ c: SimulationConfig) throws {
    if c.queryHeads % degree != 0 || c.kvHeads % degree != 0 {
      throw SimulationError.tensorParallelDoesNotDivideHeads(role: role, degree: degree, queryHeads: c.queryHeads,
                                                             kvHeads: c.kvHeads)
    }
  }

  static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

  // MARK: Trainer

  static func projectTrainer(_ c: SimulationConfig) throws -> TrainerProjection {
    let topo = try SliceTopology.parse(c.trainerSlice)
    let tp = c.trainerTensorParallel
    let (tpGroup, dpGroup) = try topo.split(groupSize: tp)
    let chips = topo.chips, dp = chips / tp
    let sequences = c.sequencesPerStep
    let perReplica = ceilDiv(sequences, dp)
    let micro = min(c.trainerMicroBatchSequences, perReplica)
    let accum = ceilDiv(perReplica, micro)
    let T = c.sequenceTokens, M = micro * T
    let d = c.modelDim, hd = c.headDim, L = Double(c.layers)
    let hq = c.queryHeads / tp, hkv = c.kvHeads / tp
    let f = ceilDiv(c.ffnHiddenDim, tp), v = ceilDiv(c.vocabSize, tp)
    let embeddings = c.tiedEmbeddings ? 1.0 : 2.0

    // HBM per chip.
    let usable = c.hbmBytesPerChip * (1 - c.hbmReserveFraction)
    let state = Double(c.parameterCount) * c.trainerStateBytesPerParameter / Double(chips)
    let gathered = 2 * Double(c.layerParameters) * 2 / Double(tp) + embeddings * Double(c.vocabSize * d) * 2 / Double(tp)
    // bf16 tensors a layer saves per token: residual in, normed in, q/k/v, attention out,
    // residual mid, normed mid, gate, up, silu(gate)·up; plus the fp32 log-sum-exp per head.
    let savedPerTokenPerLayer = 2 * Double(4 * d + (hq + 2 * hkv) * hd + hq * hd + 3 * f) + 4 * Double(hq)
    let logits = Double(M) * Double(v) * 4 * 2  // fp32 logits and their gradient
    let activationsKept = L * Double(M) * savedPerTokenPerLayer
    let activationsRecomputed = L * Double(M) * Double(2 * d) + Double(M) * savedPerTokenPerLayer
    let fixed = state + gathered + logits
    let recompute: Bool
    switch c.recompute {
    case .none: recompute = false
    case .full: recompute = true
    case .auto: recompute = fixed + activationsKept > usable
    }
    let activations = recompute ? activationsRecomputed : activationsKept
    let needed = fixed + activations
    if needed > usable {
      throw SimulationError.doesNotFitHBM(
        role: "trainer", neededBytesPerChip: needed, availableBytesPerChip: usable,
        detail: "state \(formatBytes(state)) (\(c.trainerStateBytesPerParameter) B/param over \(chips) chips) + activations "
          + "\(formatBytes(activations)) (\(M) tokens per micro-batch at TP \(tp), recompute \(recompute ? "full" : "none")) + "
          + "logits \(formatBytes(logits)) + gathered weights \(formatBytes(gathered)); try a larger trainerTensorParallel, "
          + (recompute ? "" : "recompute=full, ") + "shorter sequences or a larger slice")
    }

    // Compute per micro-batch, per chip (tpu-sim's roofline per op).
    let r = Roofline(c)
    let shapes = [(d, (hq + 2 * hkv) * hd), (hq * hd, d), (d, 2 * f), (f, d)]
    var forwardLayer = shapes.reduce(OpCost()) { $0 + r.matmul(m: M, k: $1.0, n: $1.1) }
    var backwardLayer = shapes.reduce(OpCost()) { $0 + r.matmulBackward(m: M, k: $1.0, n: $1.1) }
    let causal = c.attentionCausalFraction
    let dense = Double(hq) * Double(T) * Double(T)
    let unit = 2 * Double(hq) * Double(r.pad(T)) * Double(r.pad(T)) * Double(r.pad(hd)) * causal
    let attentionIO = 2 * Double(T * hd * (2 * hq + 2 * hkv))
    forwardLayer = forwardLayer
      + Double(micro) * r.op(mxuFlops: 2 * unit, vpuFlops: 5 * dense * causal, bytes: attentionIO)
    backwardLayer = backwardLayer
      + Double(micro) * r.op(mxuFlops: 5 * unit, vpuFlops: 10 * dense * causal, bytes: 2 * attentionIO)
    let forward = L * forwardLayer + r.matmul(m: M, k: d, n: v)
    let backward = L * backwardLayer + r.matmulBackward(m: M, k: d, n: v)
    let trainCompute = forward + backward + (recompute ? L * forwardLayer : OpCost())
    let logprobCompute = forward

    // FSDP collectives over the data-parallel group, layer by layer.
    let link = c.iciLinkBytesPerSecond, hop = c.iciHopLatencySeconds
    let layerParams = Double(c.layerParameters) / Double(tp), embedParams = Double(c.vocabSize * d) / Double(tp)
    let gatherPass = L * dpGroup.allGatherSeconds(bytes: 2 * layerParams, link: link, hopLatency: hop)
      + embeddings * dpGroup.allGatherSeconds(bytes: 2 * embedParams, link: link, hopLatency: hop)
    let gradBytes = c.gradientReduceBytesPerParameter
    let reducePass = L * dpGroup.reduceScatterSeconds(bytes: gradBytes * layerParams, link: link, hopLatency: hop)
      + embeddings * dpGroup.reduceScatterSeconds(bytes: gradBytes * embedParams, link: link, hopLatency: hop)
    let trainFSDP = 2 * gatherPass + reducePass
    let logprobFSDP = gatherPass

    // Tensor-parallel all-reduces of [M, d] bf16 activations: 2 per layer forward (after the
    // out and down projections), 2 backward (before the q/k/v and gate/up inputs' gradients).
    let allReduce = tpGroup.allReduceSeconds(bytes: Double(M * d * 2), link: link, hopLatency: hop)
    let trainTP = L * Double(4 + (recompute ? 2 : 0)) * allReduce
    let logprobTP = L * 2 * allReduce

    func pass(_ compute: OpCost, _ fsdp: Double, _ tpComm: Double) -> Double {
      let hidden = (c.overlapFSDPCommunication ? fsdp : 0) + (c.overlapTensorParallelCommunication ? tpComm : 0)
      let exposed = (c.overlapFSDPCommunication ? 0 : fsdp) + (c.overlapTensorParallelCommunication ? 0 : tpComm)
      return max(compute.seconds, hidden) + exposed
    }
    let passes = Double(c.logprobForwardPasses), steps = Double(accum)
    let perMicro = pass(trainCompute, trainFSDP, trainTP) + passes * pass(logprobCompute, logprobFSDP, logprobTP)
    let optimizer = Double(c.parameterCount) * 2 * c.trainerStateBytesPerParameter / Double(chips) / c.hbmBytesPerSecond
    let step = steps * perMicro + optimizer
    let compute = steps * (trainCompute.seconds + passes * logprobCompute.seconds)

    let P = Double(c.matmulParameterCount), tokens = Double(sequences * T)
    let attentionPerSequence = L * Double(T) * Double(T) * Double(c.attentionDim) * causal
    let update = 6 * P * tokens + Double(sequences) * 12 * attentionPerSequence
    let logprob = passes * (2 * P * tokens + Double(sequences) * 4 * attentionPerSequence)
    let model = update + logprob

    return TrainerProjection(
      slice: topo.name, topology: topo.shape, chips: chips, tensorParallel: tp, dataParallel: dp,
      tensorParallelGroup: tpGroup.description, dataParallelGroup: dpGroup.description,
      sequencesPerReplica: perReplica, microBatchSequences: micro, gradientAccumulationSteps: accum,
      activationRecomputation: recompute, stateBytesPerChip: state, activationBytesPerChip: activations,
      hbmBytesNeededPerChip: needed, hbmBytesUsablePerChip: usable,
      updateModelFLOPs: update, logprobModelFLOPs: logprob, modelFLOPs: model,
      hardwareFLOPs: Double(chips) * steps * (trainCompute.mxuFlops + passes * logprobCompute.mxuFlops),
      computeSeconds: compute, fsdpCommunicationSeconds: steps * (trainFSDP + passes * logprobFSDP),
      tensorParallelCommunicationSeconds: steps * (trainTP + passes * logprobTP),
      exposedCommunicationSeconds: step - optimizer - compute, optimizerSeconds: optimizer, stepSeconds: step,
      mfu: model / (Double(chips) * c.peakFlopsPerSecondBf16 * step))
  }

  // MARK: Rollout

  /// One decode step of one replica with `batch` sequences at mean context `context`, per chip
  /// of a TP group of `tp`: the weight matmuls, the attention over the KV cache (memory-bound:
  /// 2·Hq/Hkv FLOPs per KV byte), the LM head, and 2 all-reduces of [batch, d] per layer.
  public static func decodeStep(_ c: SimulationConfig, batch: Int, context: Double, tensorParallel tp: Int,
                                group: ICIGroup) -> (ops: OpCost, communicationSeconds: Double) {
    let r = Roofline(c)
    let d = c.modelDim, hd = c.headDim, L = Double(c.layers)
    let hq = c.queryHeads / tp, hkv = c.kvHeads / tp
    let f = ceilDiv(c.ffnHiddenDim, tp), v = ceilDiv(c.vocabSize, tp)
    let b = Double(batch)
    var layer = [(d, (hq + 2 * hkv) * hd), (hq * hd, d), (d, 2 * f), (f, d)]
      .reduce(OpCost()) { $0 + r.matmul(m: batch, k: $1.0, n: $1.1) }
    let kvBytes = b * context * 2 * Double(hkv * hd) * 2
    layer = layer + r.op(mxuFlops: 4 * b * Double(hq) * context * Double(hd), vpuFlops: 5 * b * Double(hq) * context,
                         bytes: kvBytes)
    let ops = L * layer + r.matmul(m: batch, k: d, n: v)
    let comm = 2 * L * group.allReduceSeconds(bytes: b * Double(d) * 2, link: c.iciLinkBytesPerSecond,
                                              hopLatency: c.iciHopLatencySeconds)
    return (ops, comm)
  }

  static func projectRollout(_ c: SimulationConfig) throws -> RolloutProjection {
    let topo = try SliceTopology.parse(c.inferenceSlice)
    let common = gcd(c.queryHeads, c.kvHeads)
    let candidates = c.inferenceTensorParallel > 0
      ? [c.inferenceTensorParallel]
      : (1...common).filter { common % $0 == 0 && topo.chips % $0 == 0 }
    var best: RolloutProjection?
    var lastError: Error?
    for tp in candidates {
      do {
        let p = try rollout(c, topo: topo, tensorParallel: tp)
        if best == nil || p.tokensPerSecond > best!.tokensPerSecond { best = p }
      } catch let e as SimulationError {
        if case .groupDoesNotTile = e, c.inferenceTensorParallel == 0 { continue }
        lastError = e
      }
    }
    if let best { return best }
    throw lastError ?? SimulationError.groupDoesNotTile(group: c.inferenceTensorParallel, slice: topo.name, shape: topo.shape)
  }

  static func rollout(_ c: SimulationConfig, topo: SliceTopology, tensorParallel tp: Int) throws -> RolloutProjection {
    let (group, _) = try topo.split(groupSize: tp)
    let replicas = topo.chips / tp
    let usable = c.hbmBytesPerChip * (1 - c.hbmReserveFraction)
    let weights = 2 * Double(c.parameterCount) / Double(tp)
    let sizingContext = c.kvCacheSizedForFullLength
      ? Double(c.sequenceTokens) : Double(c.promptTokens) + Double(c.responseTokens) / 2
    let perSequence = Double(c.kvBytesPerToken) / Double(tp) * sizingContext + Double(ceilDiv(c.vocabSize, tp)) * 4
    if weights + perSequence > usable {
      throw SimulationError.doesNotFitHBM(
        role: "inference replica (TP \(tp))", neededBytesPerChip: weights + perSequence, availableBytesPerChip: usable,
        detail: "bf16 weights \(formatBytes(weights)) (2 B x \(grouped(c.parameterCount)) params / TP \(tp)) + KV cache and "
          + "logits of one \(Int(sizingContext))-token sequence \(formatBytes(perSequence)); "
          + "use a larger inferenceTensorParallel")
    }
    let maxBatch = Int(((usable - weights) / perSequence).rounded(.down))
    let sequences = c.sequencesPerStep
    let batch = min(maxBatch, ceilDiv(sequences, replicas))
    let active = Double(min(sequences, replicas * batch))
    let context = Double(c.promptTokens) + Double(c.responseTokens) / 2
    let (ops, comm) = decodeStep(c, batch: batch, context: context, tensorParallel: tp, group: group)
    let step = ops.seconds + comm
    let tokensPerSecond = active / step

    // Batch from which the weight matmuls alone are compute-bound.
    let r = Roofline(c)
    let d = c.modelDim, hd = c.headDim
    let hq = c.queryHeads / tp, hkv = c.kvHeads / tp, f = ceilDiv(c.ffnHiddenDim, tp)
    let shapes = [(d, (hq + 2 * hkv) * hd), (hq * hd, d), (d, 2 * f), (f, d), (d, ceilDiv(c.vocabSize, tp))]
    let threshold = (1...16384).first { b in
      let cost = shapes.reduce(OpCost()) { $0 + r.matmul(m: b, k: $1.0, n: $1.1) }
      return !cost.isMemoryBound
    }

    let peak = c.peakFlopsPerSecondBf16 * c.mxuEfficiency
    let prompt = Double(c.promptTokens)
    let prefillFlops = Double(sequences) * (2 * Double(c.matmulParameterCount) * prompt
      + 4 * Double(c.layers) * prompt * prompt * Double(c.attentionDim) * c.attentionCausalFraction)
    let prefill = prefillFlops / (Double(topo.chips) * peak)
    let decode = Double(sequences * c.responseTokens) / tokensPerSecond
    return RolloutProjection(
      slice: topo.name, topology: topo.shape, chips: topo.chips, tensorParallel: tp, tensorParallelGroup: group.description,
      replicas: replicas, batchPerReplica: batch, maxBatchPerReplica: maxBatch,
      hbmBytesNeededPerChip: weights + Double(batch) * perSequence, hbmBytesUsablePerChip: usable,
      averageContextTokens: context, decodeStepSeconds: step, decodeStepMemorySeconds: ops.memorySeconds,
      decodeStepComputeSeconds: ops.computeSeconds, decodeStepCommunicationSeconds: comm,
      decodeBound: ops.isMemoryBound ? "memory" : "compute", computeBoundFromBatch: threshold,
      tokensPerSecond: tokensPerSecond, tokensPerSecondPerChip: tokensPerSecond / Double(topo.chips),
      prefillSeconds: prefill, decodeSeconds: decode, generationSeconds: prefill + decode)
  }

  // MARK: Weight sync

  static func projectWeightSync(_ c: SimulationConfig, trainer: TrainerProjection,
                                rollout: RolloutProjection) -> WeightSyncProjection {
    let bytes = 2 * Double(c.parameterCount)
    let host = c.dcnBytesPerSecondPerChip * Double(c.chipsPerHost)
    let trainerHosts = ceilDiv(trainer.chips, c.chipsPerHost)
    let psHosts = c.parameterServerHosts > 0 ? c.parameterServerHosts : trainerHosts
    let push = bytes / (Double(min(trainerHosts, psHosts)) * host)
    let pull = max(bytes / (Double(rollout.tensorParallel) * c.dcnBytesPerSecondPerChip),
                   Double(rollout.replicas) * bytes / (Double(psHosts) * host))
    return WeightSyncProjection(transport: "DCN", weightBytes: bytes, hostBytesPerSecond: host, trainerHosts: trainerHosts,
                                parameterServerHosts: psHosts, pushSeconds: push, pullSeconds: pull)
  }
}
