import Foundation
import RlaxConfig
import RlaxPlugins

/// How tokens are drawn: temperature, nucleus (top-p, Holtzman et al. 2020) and top-k
/// truncation, and a budget of new tokens. The stop token comes from the tokenizer.
public struct SamplerConfig: Codable, Equatable, Sendable, ValidatableConfig {
  public var temperature: Double = 1.0
  /// Keep the smallest set of tokens whose probability reaches topP (1 = off).
  public var topP: Double = 1.0
  /// Keep the topK most likely tokens (0 = off).
  public var topK = 0
  public var maxNewTokens = 16
  public init() {}

  public func validate(path: String) throws {
    try require(temperature >= 0, "\(path).temperature", "must be >= 0 (0 = greedy), got \(temperature)")
    try require(topP > 0 && topP <= 1, "\(path).topP", "must be in (0, 1], got \(topP)")
    try require(topK >= 0, "\(path).topK", "must be >= 0 (0 = off), got \(topK)")
    try require(maxNewTokens >= 1, "\(path).maxNewTokens", "must be >= 1, got \(maxNewTokens)")
  }
}

/// One generated continuation: its tokens (the stop token included when it was drawn) and
/// each token's log-prob under the model (log-softmax of the logits at temperature 1, the
/// policy's own probability, whatever the sampling settings).
public struct Completion: Sendable, Equatable {
  public var tokens: [Int32]
  public var logprobs: [Float]
  public var stopped: Bool
}

/// Batched generation with a KV cache. Prompts of different lengths share a batch by left
/// padding: row b's real tokens start at key index kStart[b], its positions count from 0 there.
/// Row b draws from its own random stream, seeded by `seeds[b]`, so a sample does not depend
/// on which other prompts share its batch.
public struct Sampler {
  public let model: DecoderModel
  public let config: SamplerConfig
  public let stopToken: Int32?
  public let padToken: Int32

  public init(model: DecoderModel, config: SamplerConfig, stopToken: Int32?, padToken: Int32 = 0) throws {
    try config.validate(path: "sampler")
    self.model = model
    self.config = config
    self.stopToken = stopToken
    self.padToken = padToken
  }

  public func generate(prompts: [[Int32]], seeds: [UInt64]) throws -> [Completion] {
    precondition(prompts.count == seeds.count, "one seed per prompt")
    guard !prompts.isEmpty else { return [] }
    let b = model.backend, batch = prompts.count
    let promptLength = prompts.map(\.count).max()!
    guard prompts.allSatisfy({ !$0.isEmpty }) else {
      throw PluginError.invalidCall(plugin: b.name, operation: "generate", reason: "a prompt is empty (give at least BOS)")
    }
    let capacity = promptLength + config.maxNewTokens
    guard capacity <= model.config.maxSeqLen else {
      throw PluginError.invalidCall(plugin: b.name, operation: "generate",
                                    reason: "prompt length \(promptLength) + maxNewTokens \(config.maxNewTokens) exceeds maxSeqLen \(model.config.maxSeqLen)")
    }
    let a = model.config.layer.attention
    let caches = try model.layers.map { _ in
      KVCache(k: try b.tensor(.f32, [batch, capacity, a.numKVHeads, a.headDim]),
              v: try b.tensor(.f32, [batch, capacity, a.numKVHeads, a.headDim]))
    }
    let pad = prompts.map { Int32(promptLength - $0.count) }
    let kStart = try b.uploadInt32(pad, shape: [batch])
    // Prefill: the left-padded prompts in one pass.
    var tokens = [Int32](), positions = [Int32]()
    for (row, prompt) in prompts.enumerated() {
      tokens += [Int32](repeating: padToken, count: Int(pad[row])) + prompt
      positions += (0..<promptLength).map { Int32(max(0, $0 - Int(pad[row]))) }
    }
    var logits = try model.decode(tokens: tokens, positions: positions, batch: batch, length: promptLength,
                                  kStart: kStart, caches: caches, start: 0)
    var rngs = seeds.map { ModelRNG(seed: $0) }
    var out = prompts.map { _ in Completion(tokens: [], logprobs: [], stopped: false) }
    for step in 0..<config.maxNewTokens {
      var next = [Int32](repeating: padToken, count: batch)
      for row in 0..<batch where !out[row].stopped {
        let rowLogits = Array(logits[(row * model.config.vocabSize)..<((row + 1) * model.config.vocabSize)])
        let (token, logprob) = draw(rowLogits, rng: &rngs[row])
        out[row].tokens.append(token)
        out[row].logprobs.append(logprob)
        if token == stopToken { out[row].stopped = true }
        next[row] = token
      }
      if out.allSatisfy(\.stopped) || step == config.maxNewTokens - 1 { break }
      let index = promptLength + step
      logits = try model.decode(tokens: next, positions: pad.map { Int32(index) - $0 }, batch: batch, length: 1,
                                kStart: kStart, caches: caches, start: index)
    }
    return out
  }

  /// Draws one token from a row of logits; returns it with its log-prob under the model.
  func draw(_ logits: [Float], rng: inout ModelRNG) -> (Int32, Float) {
    let maxLogit = Double(logits.max()!)
    let logZ = maxLogit + Foundation.log(logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - maxLogit) })
    let modelLogprob = { (i: Int) in Float(Double(logits[i]) - logZ) }
    if config.temperature == 0 {
      let best = logits.indices.max { logits[$0] < logits[$1] || (logits[$0] == logits[$1] && $0 > $1) }!
      return (Int32(best), modelLogprob(best))
    }
    // Candidates by decreasing probability (ties by index, for determinism).
    var order = logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
    if config.topK > 0 { order = Array(order.prefix(config.topK)) }
    var weights = order.map { Foundation.exp((Double(logits[$0]) - maxLogit) / config.temperature) }
    if config.topP < 1 {
      let total = weights.reduce(0, +)
      var cumulative = 0.0, keep = weights.count
      for (i, w) in weights.enumerated() {
        cumulative += w / total
        if cumulative >= config.topP { keep = i + 1; break }
      }
      order = Array(order.prefix(keep))
      weights = Array(weights.prefix(keep))
    }
    var u = rng.uniform() * weights.reduce(0, +)
    for (i, w) in weights.enumerated() {
      u -= w
      if u < 0 { return (Int32(order[i]), modelLogprob(order[i])) }
    }
    return (Int32(order.last!), modelLogprob(order.last!))
  }
}

extension DecoderModel {
  /// Runs `length` new tokens per row through the model with KV caches, writing their keys at
  /// [start, start + length) and attending to [kStart[b], start + t]; returns the logits of
  /// each row's last new token, [batch * vocabSize] on the host.
  func decode(tokens: [Int32], positions: [Int32], batch: Int, length: Int, kStart: Tensor, caches: [KVCache],
              start: Int) throws -> [Float] {
    let b = backend, n = batch * length, d = config.modelDim
    let ids = try b.uploadInt32(tokens, shape: [n])
    let qPositions = (0..<batch).flatMap { _ in (0..<length).map { Int32(start + $0) } }
    var mask = AttentionMask(positions: try b.uploadInt32(positions, shape: [batch, length]),
                             qPositions: try b.uploadInt32(qPositions, shape: [batch, length]), kStart: kStart)
    var x = try embed(ids: ids, mask: mask, count: n)
    for (layer, cache) in zip(layers, caches) {
      mask.cache = (cache, start)
      x = try layer.forward(b, params, x: x, batch: batch, length: length, mask: mask, saveForBackward: false).out
    }
    // Only each row's last position needs logits.
    let last = Tensor(buffer: x.buffer, offset: x.offset + (length - 1) * d * 4, dtype: .f32, shape: [batch, d], strides: [length * d, 1])
    let f = try finalNorm.forward(b, params, x: last)
    return try b.download(try head(f.out))
  }
}
