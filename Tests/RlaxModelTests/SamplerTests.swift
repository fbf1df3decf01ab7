import Foundation
import RlaxPlugins
import RlaxTestSupport
import XCTest

@testable import RlaxModel

/// KV-cache generation agrees with full forward passes, is deterministic per row, and honours
/// temperature, top-k, top-p and the stop token.
final class SamplerTests: XCTestCase {
  func makeModel(seed: UInt64 = 3) throws -> DecoderModel {
    var config = DecoderConfig()
    config.vocabSize = 13
    config.modelDim = 16
    config.numLayers = 2
    config.maxSeqLen = 24
    config.layer.attention.numHeads = 4
    config.layer.attention.numKVHeads = 2
    config.layer.attention.headDim = 4
    config.layer.feedForward.hiddenDim = 24
    config.initStd = 0.5  // peaked distributions, so greedy choices are clear
    let model = try DecoderModel(config: config, backend: try Backend(library: TestSupport.bundled("cpu-blas")))
    try model.initialize(seed: seed)
    return model
  }

  /// Full-forward log-probs of `sequence` (targets shifted by one).
  func fullLogprobs(_ model: DecoderModel, _ sequence: [Int32]) throws -> [Float] {
    let batch = TokenBatch(batch: 1, length: sequence.count - 1, tokens: Array(sequence.dropLast()), targets: Array(sequence.dropFirst()))
    return try model.logprobs(try model.forward(batch, saveForBackward: false))
  }

  func testCachedDecodingMatchesFullForwardForLeftPaddedPrompts() throws {
    let model = try makeModel()
    var config = SamplerConfig()
    config.maxNewTokens = 6
    let sampler = try Sampler(model: model, config: config, stopToken: nil)
    let prompts: [[Int32]] = [[1, 5, 6, 7, 8], [1, 9], [1, 3, 4]]
    let completions = try sampler.generate(prompts: prompts, seeds: [11, 12, 13])
    for (prompt, completion) in zip(prompts, completions) {
      XCTAssertEqual(completion.tokens.count, 6)
      let full = try fullLogprobs(model, prompt + completion.tokens)
      let tail = Array(full.suffix(completion.tokens.count))
      for (a, b) in zip(completion.logprobs, tail) { XCTAssertEqual(a, b, accuracy: 2e-4, "prompt \(prompt)") }
    }
  }

  func testSameSeedsSameSamplesWhateverTheBatch() throws {
    let model = try makeModel()
    let sampler = try Sampler(model: model, config: SamplerConfig(), stopToken: nil)
    let together = try sampler.generate(prompts: [[1, 5, 6], [1, 2, 3, 4, 9, 9]], seeds: [77, 78])
    let again = try sampler.generate(prompts: [[1, 5, 6], [1, 2, 3, 4, 9, 9]], seeds: [77, 78])
    XCTAssertEqual(together, again)
    let alone = try sampler.generate(prompts: [[1, 5, 6]], seeds: [77])
    XCTAssertEqual(alone[0].tokens, together[0].tokens)
    let other = try sampler.generate(prompts: [[1, 5, 6]], seeds: [79])
    let otherSeeds = try sampler.generate(prompts: [[1, 5, 6]], seeds: [80])
    XCTAssertTrue(other[0].tokens != alone[0].tokens || otherSeeds[0].tokens != alone[0].tokens, "seeds change samples")
  }

  func testGreedyTopKOneAndTinyTopPAllPickTheArgmax() throws {
    let model = try makeModel()
    var greedy = SamplerConfig()
    greedy.temperature = 0
    greedy.maxNewTokens = 5
    var topK = greedy
    topK.temperature = 1
    topK.topK = 1
    var topP = greedy
    topP.temperature = 1
    topP.topP = 1e-6
    let prompt: [Int32] = [1, 4, 8]
    let g = try Sampler(model: model, config: greedy, stopToken: nil).generate(prompts: [prompt], seeds: [1])[0]
    XCTAssertEqual(try Sampler(model: model, config: topK, stopToken: nil).generate(prompts: [prompt], seeds: [2])[0].tokens, g.tokens)
    XCTAssertEqual(try Sampler(model: model, config: topP, stopToken: nil).generate(prompts: [prompt], seeds: [3])[0].tokens, g.tokens)
    // Each greedy token is the argmax of a full forward pass over what came before.
    var sequence = prompt
    for token in g.tokens {
      let batch = TokenBatch(batch: 1, length: sequence.count, tokens: sequence, targets: sequence)
      let logits = try model.backend.download(try model.forward(batch, saveForBackward: false).logits)
      let last = Array(logits.suffix(13))
      XCTAssertEqual(Int(token), last.indices.max { last[$0] < last[$1] }!)
      sequence.append(token)
    }
  }

  func testStopTokenEndsARowAndTopKRestrictsChoices() throws {
    let model = try makeModel()
    var config = SamplerConfig()
    config.maxNewTokens = 12
    config.topK = 3
    let probe = try Sampler(model: model, config: config, stopToken: nil).generate(prompts: [[1, 2]], seeds: [5])[0]
    let stop = probe.tokens[2]
    let stopped = try Sampler(model: model, config: config, stopToken: stop).generate(prompts: [[1, 2]], seeds: [5])[0]
    XCTAssertTrue(stopped.stopped)
    XCTAssertEqual(stopped.tokens.last, stop)
    XCTAssertEqual(Array(stopped.tokens), Array(probe.tokens.prefix(stopped.tokens.count)))
    XCTAssertLessThanOrEqual(stopped.tokens.count, 3)
  }

  func testPromptsPastTheContextAreRefused() throws {
    let model = try makeModel()
    var config = SamplerConfig()
    config.maxNewTokens = 20
    XCTAssertThrowsError(try Sampler(model: model, config: config, stopToken: nil).generate(prompts: [[1, 2, 3, 4, 5]], seeds: [1])) { error in
      XCTAssertTrue("\(error)".contains("exceeds maxSeqLen"), "\(error)")
    }
  }
}
