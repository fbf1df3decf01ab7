import Foundation

/// Whether the trainer keeps every layer's activations for the backward pass or recomputes
/// them from a per-layer checkpoint (the layer's input).
public enum RecomputePolicy: String, Codable, Sendable, CaseIterable {
  /// `none` when the activations fit HBM, otherwise `full`.
  case auto
  /// Keep all activations (hardware FLOPs = model FLOPs).
  case none
  /// Save only each layer's input; run each layer's forward again in the backward pass.
  case full
}

/// Every input of the projection, with defaults: a 32.8B dense decoder (QwQ-32B / Qwen2.5-32B
/// shapes), 256 prompts x 16 samples of 1k + 8k tokens, trainer v5p-512 and inference v5p-512.
/// The chip constants are tpu-sim's defaults (docs/tpu-sim.md). Decoding a partial JSON object
/// is allowed: a missing key keeps its default.
public struct SimulationConfig: Codable, Equatable, Sendable {
  // MARK: Model (decoder-only, pre-RMSNorm, GQA, SwiGLU)

  /// Decoder layers.
  public var layers = 64
  /// Residual width d_model.
  public var modelDim = 5120
  /// Query heads.
  public var queryHeads = 40
  /// Key/value heads (GQA).
  public var kvHeads = 8
  /// Width of one head.
  public var headDim = 128
  /// SwiGLU hidden width (gate, up: d x F; down: F x d). 27648 is Qwen2.5-32B's and makes
  /// 32,763,876,352 parameters with the other defaults.
  public var ffnHiddenDim = 27648
  /// Vocabulary size.
  public var vocabSize = 152064
  /// Input embedding and output (LM head) share one matrix. QwQ-32B does not.
  public var tiedEmbeddings = false
  /// Biases on the q, k and v projections (Qwen2 has them). Counted as parameters, no FLOPs.
  public var qkvBias = true

  // MARK: Workload (one RL step)

  /// Prompt length, tokens.
  public var promptTokens = 1024
  /// Response length, tokens (every response is taken to run to this length).
  public var responseTokens = 8192
  /// Samples (G) per prompt.
  public var samplesPerPrompt = 16
  /// Prompts per trainer step. Sequences per step = promptsPerStep x samplesPerPrompt.
  public var promptsPerStep = 256
  /// Forward-only passes over the batch on the trainer before the update: 1 = recompute the
  /// old policy's log-probs with the trainer's graph (RLAX's alignment); 2 = also a reference
  /// model for a KL term; 0 = none.
  public var logprobForwardPasses = 1
  /// Staleness bound k used for `Projection.stepSeconds` (0 = on-policy, serial).
  public var staleness = 1

  // MARK: Trainer

  /// Trainer slice, "v5p-N" (N TensorCores, N/2 chips).
  public var trainerSlice = "v5p-512"
  /// Tensor-parallel degree (Megatron: QKV and gate/up column-parallel, out and down
  /// row-parallel, LM head vocab-parallel). Must divide the query and KV heads. The rest of the
  /// chips are data parallel; parameters, gradients and optimizer state are FSDP-sharded over
  /// all trainer chips.
  public var trainerTensorParallel = 4
  /// Sequences per micro-batch on each data-parallel replica (gradient accumulation over the
  /// rest).
  public var trainerMicroBatchSequences = 1
  /// Activation recomputation.
  public var recompute: RecomputePolicy = .auto
  /// Trainer state, bytes per parameter: bf16 weights 2 + fp32 master 4 + Adam m 4 + Adam v 4 +
  /// fp32 gradient accumulator 4 = 18.
  public var trainerStateBytesPerParameter = 18.0
  /// Bytes per parameter in the gradient reduce-scatter (fp32).
  public var gradientReduceBytesPerParameter = 4.0
  /// FSDP all-gathers and reduce-scatters run under the compute (next layer prefetched).
  public var overlapFSDPCommunication = true
  /// Tensor-parallel all-reduces of activations run under the compute (collective matmul).
  /// Off by default: they sit on the critical path.
  public var overlapTensorParallelCommunication = false

  // MARK: Inference

  /// Inference slice, "v5p-N".
  public var inferenceSlice = "v5p-512"
  /// Tensor-parallel degree of one inference replica; 0 = choose the degree (dividing the query
  /// and KV heads) that gives the most fleet tokens/s.
  public var inferenceTensorParallel = 0
  /// Size the KV cache for the full prompt + response of every sequence (a static batch never
  /// runs out); false sizes it for the average context (paged KV, continuous batching).
  public var kvCacheSizedForFullLength = true

  // MARK: Chip and ICI (tpu-sim's defaults; Cloud TPU v5p docs, scaling book)

  /// MXU peak, bf16 FLOP/s per chip.
  public var peakFlopsPerSecondBf16 = 459e12
  /// HBM bandwidth, bytes/s per chip.
  public var hbmBytesPerSecond = 2765e9
  /// HBM capacity, bytes per chip (95 GiB).
  public var hbmBytesPerChip = 102_005_473_280.0
  /// Vector unit, FLOP/s per chip (tpu-sim's estimate).
  public var vpuFlopsPerSecond = 7.172e12
  /// MXU tile: matmul M, N, K are padded up to multiples of this.
  public var mxuTile = 128
  /// Fraction of the MXU roofline a matmul reaches; 1 = the pure roofline (tpu-sim's clock).
  public var mxuEfficiency = 1.0
  /// ICI bandwidth, bytes/s, one direction of one link.
  public var iciLinkBytesPerSecond = 9e10
  /// ICI latency per hop, seconds.
  public var iciHopLatencySeconds = 1e-6
  /// Fraction of HBM kept free for XLA scratch, fragmentation and small buffers.
  public var hbmReserveFraction = 0.1
  /// Fraction of the dense T x T attention that causal kernels compute (splash attention skips
  /// fully masked blocks: 0.5). tpu-sim's op charges it dense (1.0).
  public var attentionCausalFraction = 0.5

  // MARK: Host network (DCN) and parameter server

  /// DCN bandwidth per chip, bytes/s (Cloud TPU v5p docs: 50 Gbps per chip).
  public var dcnBytesPerSecondPerChip = 6.25e9
  /// Chips per host (a v5p VM has 4).
  public var chipsPerHost = 4
  /// Parameter-server hosts, each with one host's DCN bandwidth; 0 = as many as the trainer has.
  public var parameterServerHosts = 0

  public init() {}

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = SimulationConfig()
    func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
      try c.decodeIfPresent(T.self, forKey: key) ?? fallback
    }
    layers = try get(.layers, d.layers)
    modelDim = try get(.modelDim, d.modelDim)
    queryHeads = try get(.queryHeads, d.queryHeads)
    kvHeads = try get(.kvHeads, d.kvHeads)
    headDim = try get(.headDim, d.headDim)
    ffnHiddenDim = try get(.ffnHiddenDim, d.ffnHiddenDim)
    vocabSize = try get(.vocabSize, d.vocabSize)
    tiedEmbeddings = try get(.tiedEmbeddings, d.tiedEmbeddings)
    qkvBias = try get(.qkvBias, d.qkvBias)
    promptTokens = try get(.promptTokens, d.promptTokens)
    responseTokens = try get(.responseTokens, d.responseTokens)
    samplesPerPrompt = try get(.samplesPerPrompt, d.samplesPerPrompt)
    promptsPerStep = try get(.promptsPerStep, d.promptsPerStep)
    logprobForwardPasses = try get(.logprobForwardPasses, d.logprobForwardPasses)
    staleness = try get(.staleness, d.staleness)
    trainerSlice = try get(.trainerSlice, d.trainerSlice)
    trainerTensorParallel = try get(.trainerTensorParallel, d.trainerTensorParallel)
    trainerMicroBatchSequences = try get(.trainerMicroBatchSequences, d.trainerMicroBatchSequences)
    recompute = try get(.recompute, d.recompute)
    trainerStateBytesPerParameter = try get(.trainerStateBytesPerParameter, d.trainerStateBytesPerParameter)
    gradientReduceBytesPerParameter = try get(.gradientReduceBytesPerParameter, d.gradientReduceBytesPerParameter)
    overlapFSDPCommunication = try get(.overlapFSDPCommunication, d.overlapFSDPCommunication)
    overlapTensorParallelCommunication = try get(.overlapTensorParallelCommunication, d.overlapTensorParallelCommunication)
    inferenceSlice = try get(.inferenceSlice, d.inferenceSlice)
    inferenceTensorParallel = try get(.inferenceTensorParallel, d.inferenceTensorParallel)
    kvCacheSizedForFullLength = try get(.kvCacheSizedForFullLength, d.kvCacheSizedForFullLength)
    peakFlopsPerSecondBf16 = try get(.peakFlopsPerSecondBf16, d.peakFlopsPerSecondBf16)
    hbmBytesPerSecond = try get(.hbmBytesPerSecond, d.hbmBytesPerSecond)
    hbmBytesPerChip = try get(.hbmBytesPerChip, d.hbmBytesPerChip)
    vpuFlopsPerSecond = try get(.vpuFlopsPerSecond, d.vpuFlopsPerSecond)
    mxuTile = try get(.mxuTile, d.mxuTile)
    mxuEfficiency = try get(.mxuEfficiency, d.mxuEfficiency)
    iciLinkBytesPerSecond = try get(.iciLinkBytesPerSecond, d.iciLinkBytesPerSecond)
    iciHopLatencySeconds = try get(.iciHopLatencySeconds, d.iciHopLatencySeconds)
    hbmReserveFraction = try get(.hbmReserveFraction, d.hbmReserveFraction)
    attentionCausalFraction = try get(.attentionCausalFraction, d.attentionCausalFraction)
    dcnBytesPerSecondPerChip = try get(.dcnBytesPerSecondPerChip, d.dcnBytesPerSecondPerChip)
    chipsPerHost = try get(.chipsPerHost, d.chipsPerHost)
    parameterServerHosts = try get(.parameterServerHosts, d.parameterServerHosts)
  }

  // MARK: Derived shapes

  /// Tokens per sequence on the trainer: prompt + response.
  public var sequenceTokens: Int { promptTokens + responseTokens }
  /// Sequences (samples) per step.
  public var sequencesPerStep: Int { promptsPerStep * samplesPerPrompt }
  /// Hq x head_dim.
  public var attentionDim: Int { queryHeads * headDim }

  /// Matmul parameters of one layer: d(Hq + 2Hkv)hd (q, k, v) + Hq·hd·d (out) + 3dF (gate, up,
  /// down).
  public var layerMatmulParameters: Int {
    modelDim * (queryHeads + 2 * kvHeads) * headDim + attentionDim * modelDim + 3 * modelDim * ffnHiddenDim
  }
  /// All parameters of one layer: matmuls + q/k/v biases + 2 RMSNorm scales.
  public var layerParameters: Int {
    layerMatmulParameters + (qkvBias ? (queryHeads + 2 * kvHeads) * headDim : 0) + 2 * modelDim
  }
  /// Every parameter: layers + embedding (V·d) + LM head (V·d unless tied) + final norm (d).
  public var parameterCount: Int {
    layers * layerParameters + vocabSize * modelDim * (tiedEmbeddings ? 1 : 2) + modelDim
  }
  /// The parameters that take part in matmuls, the P of 6·P·T: the layers' matmuls and the LM
  /// head. The embedding lookup is a gather (no FLOPs); norms and biases are elementwise.
  public var matmulParameterCount: Int { layers * layerMatmulParameters + vocabSize * modelDim }
  /// KV-cache bytes per token of context, whole model: 2 (k, v) x layers x Hkv x hd x 2 (bf16).
  public var kvBytesPerToken: Int { 2 * layers * kvHeads * headDim * 2 }
}
