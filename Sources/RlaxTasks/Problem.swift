/// One verifiable problem: what the model sees, a reference completion, and how to score.
public struct Problem: Codable, Hashable, Sendable {
  /// The text the model is conditioned on, e.g. `"12+345="`. It also decides the problem's
  /// ``Split``.
  public var prompt: String
  /// The reference completion used as the SFT target, e.g. `"357"`. Verifiers may accept
  /// other completions too (any correct Countdown expression, say).
  public var answer: String
  /// The name of the verifier that scores completions (see ``VerifierRegistry``);
  /// `nil` means `"exact"`.
  public var verifier: String?
  /// Task-specific facts a verifier or an evaluation report may need, e.g. Countdown's
  /// `"numbers"` and `"target"`, or arithmetic's `"op"`.
  public var metadata: [String: String]

  /// Creates a problem; `verifier` nil means exact string match after trimming.
  public init(prompt: String, answer: String, verifier: String? = nil, metadata: [String: String] = [:]) {
    self.prompt = prompt
    self.answer = answer
    self.verifier = verifier
    self.metadata = metadata
  }

  private enum CodingKeys: String, CodingKey { case prompt, answer, verifier, metadata }

  /// Decodes a problem; `verifier` and `metadata` may be absent.
  public init(from decoder: Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    prompt = try container.decode(String.self, forKey: .prompt)
    answer = try container.decode(String.self, forKey: .answer)
    verifier = try container.decodeIfPresent(String.self, forKey: .verifier)
    metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
  }
}
