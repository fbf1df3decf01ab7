import RlaxTasks

/// How problems become token sequences: `BOS prompt answer EOS` for training, `BOS prompt`
/// for generation; the model's completion is everything it writes before EOS.
public struct PromptFormat: Sendable {
  public let tokenizer: CharTokenizer
  public init(tokenizer: CharTokenizer = CharTokenizer()) { self.tokenizer = tokenizer }

  public func promptTokens(_ problem: Problem) throws -> [Int32] {
    [tokenizer.bosID] + (try tokenizer.encode(problem.prompt))
  }

  /// The full sequence and the index of its first answer token.
  public func trainingSequence(_ problem: Problem) throws -> (tokens: [Int32], answerStart: Int) {
    let prompt = try promptTokens(problem)
    return (prompt + (try tokenizer.encode(problem.answer)) + [tokenizer.eosID], prompt.count)
  }

  /// The completion's text: tokens up to (not including) EOS.
  public func completionText(_ tokens: [Int32]) -> String {
    tokenizer.decode(Array(tokens.prefix { $0 != tokenizer.eosID }))
  }
}
