/// Which side of the train / held-out partition a problem belongs to.
///
/// The partition is a fixed function of the prompt text (see ``Split/containing(prompt:)``),
/// not of sampling, so train and held-out sets are disjoint by construction: a generator that
/// draws a prompt belonging to the other split rejects it and draws again.
public enum Split: String, Codable, CaseIterable, Sendable {
  /// Problems used for SFT and RL updates (about 90% of each task's problem space).
  case train
  /// Problems reserved for evaluation (about 10%); never produced for `.train`.
  case heldOut

  /// The split a prompt belongs to: held-out iff the 64-bit FNV-1a hash of its UTF-8 bytes is
  /// divisible by 10. The prompt is the canonical identity of a problem, so two problems with
  /// the same prompt always land in the same split.
  public static func containing(prompt: String) -> Split {
    FNV1a.hash(prompt) % 10 == 0 ? .heldOut : .train
  }
}
