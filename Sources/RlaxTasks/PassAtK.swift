/// The pass@k metric: the probability that at least one of k completions solves a problem.
public enum PassAtK {
  /// The unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models Trained on
  /// Code"), from `n` samples of which `c` are correct:
  ///
  ///     pass@k = 1 - C(n-c, k) / C(n, k)
  ///
  /// computed as `1 - prod_{i = n-c+1}^{n} (1 - k/i)`, which equals the ratio of binomials but
  /// never forms them, so it neither overflows nor loses precision for large `n`.
  ///
  /// - Precondition: `1 <= k <= n` and `0 <= c <= n`.
  public static func unbiased(n: Int, c: Int, k: Int) -> Double {
    precondition(k >= 1 && n >= k, "pass@k needs 1 <= k <= n (n = \(n), k = \(k))")
    precondition(c >= 0 && c <= n, "pass@k needs 0 <= c <= n (n = \(n), c = \(c))")
    // Fewer than k wrong samples: every k-subset contains a correct one.
    if n - c < k { return 1 }
    var allWrong = 1.0  // C(n-c, k) / C(n, k)
    for i in (n - c + 1)..<(n + 1) {
      allWrong *= 1 - Double(k) / Double(i)
    }
    return 1 - allWrong
  }

  /// The mean of ``unbiased(n:c:k:)`` over problems, each sampled `n` times, where
  /// `correct[j]` is the number of correct samples for problem j.
  ///
  /// - Precondition: `correct` is not empty, and each count satisfies `unbiased`'s precondition.
  public static func mean(n: Int, correct: [Int], k: Int) -> Double {
    precondition(!correct.isEmpty, "pass@k mean over no problems")
    return correct.reduce(0) { $0 + unbiased(n: n, c: $1, k: k) } / Double(correct.count)
  }
}
