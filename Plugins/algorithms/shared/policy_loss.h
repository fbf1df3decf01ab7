/*
 * policy_loss.h — the clipped policy-gradient loss (PPO's surrogate, Schulman et al. 2017) and
 * the KL estimators, header-only, on top of algorithm_plugin.h.
 *
 *   CLIP_LOW_HP, CLIP_HIGH_HP      the usual epsilon_low / epsilon_high hyperparameters
 *   clipped_surrogate              min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A), one term
 *   clipped_token_at               the same at token k of a batch
 *   kl_k1, kl_k3                   Schulman's "Approximating KL divergence" estimators
 *   sequence_mean_clipped_loss     (1/N) sum_i (1/|o_i|) sum_t m_t [-min(...) + beta KL_t]
 *   token_sum_clipped_loss         (1/D) sum_i sum_t m_t [-min(...) + beta KL_t], D a constant
 *   token_mean_clipped_policy      (1/sum|o|) sum_{i,t} m_t [-min(...)], stats for the metrics
 *
 * The three aggregations are written as their plugins first wrote them (each sums in its own
 * order, and a clipped token's gradient is +0 or -0), so that their results stay bit-identical.
 */
#ifndef RLAX_PLUGINS_ALGORITHMS_SHARED_POLICY_LOSS_H
#define RLAX_PLUGINS_ALGORITHMS_SHARED_POLICY_LOSS_H

#include "algorithm_plugin.h"

#define CLIP_LOW_HP                                                                         \
  ALG_HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low", 0.2, 0.0, \
         1.0)
#define CLIP_HIGH_HP                                                                          \
  ALG_HP("clip_high", "epsilon_high: the ratio is clipped above at 1 + epsilon_high", 0.2, 0.0, \
         10.0)

/* ---------------------------------------------------------------------------------------- */
/* One term                                                                                  */

typedef struct clipped_term {
  double surrogate;   /* min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A) */
  double d_surrogate; /* its derivative in log(ratio): ratio A unclipped, 0 clipped */
  bool clipped;       /* the clipped branch was the min (constant in the ratio) */
} clipped_term;

/* PPO's pessimistic surrogate. Ties (every ratio inside the range) take the unclipped branch. */
static inline clipped_term clipped_surrogate(double ratio, double adv, double eps_low,
                                             double eps_high) {
  const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high);
  const double unclipped = ratio * adv, clip_term = clipped_ratio * adv;
  if (unclipped <= clip_term) return (clipped_term){unclipped, unclipped, false};
  return (clipped_term){clip_term, 0.0, true};
}

/* The clipped term of token k of a batch, rho = exp(logp - logp_old). */
typedef struct clipped_token {
  double logp, adv, rho;
  clipped_term c;
} clipped_token;

static inline clipped_token clipped_token_at(const rlax_rollout_batch *b, size_t k, double eps_low,
                                             double eps_high) {
  clipped_token x;
  x.logp = b->logprobs[k];
  x.adv = b->advantages[k];
  x.rho = exp(x.logp - (double)b->behavior_logprobs[k]);
  x.c = clipped_surrogate(x.rho, x.adv, eps_low, eps_high);
  return x;
}

/* d(-surrogate)/dlogp, 0 (not -0) on the clipped branch. */
static inline double clipped_dloss(clipped_term c) { return c.clipped ? 0.0 : -c.d_surrogate; }

/* KL(p || q) estimators at one sample a ~ p, with logp = log p(a), logq = log q(a),
 * x = logq - logp:  k1 = -x,  k3 = exp(x) - x - 1 (>= 0). *dk3_dlogp = 1 - exp(x) (may be NULL). */
static inline double kl_k1(double logp, double logq) { return logp - logq; }
static inline double kl_k3(double logp, double logq, double *dk3_dlogp) {
  const double x = logq - logp, ex = exp(x);
  if (dk3_dlogp) *dk3_dlogp = 1.0 - ex;
  return ex - x - 1.0;
}

/* ---------------------------------------------------------------------------------------- */
/* Aggregations (inputs checked with alg_check_loss_inputs)                                  */

/* The sequence-mean loss (GRPO, RLOO), with rho_t = exp(logp_t - logp_old_t) and the k3 KL to
 * ref_logprobs (penalised when beta > 0):
 *   L = (1/N) sum_i (1/|o_i|) sum_t m_t [ -min(rho_t A_t, clip(rho_t) A_t) + beta KL_t ]
 * A row with no counted token contributes 0 (it still counts in N). Writes result->loss and
 * dloss_dlogprobs (0 where the mask is 0) and reports loss_policy, kl (when ref_logprobs are
 * given, even with beta = 0), clip_fraction, ratio_mean and advantage_mean (token means
 * weighted by the mask). */
static inline void sequence_mean_clipped_loss(const rlax_rollout_batch *b, rlax_loss_result *result,
                                              double eps_low, double eps_high, double beta) {
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask, *ref = b->ref_logprobs;
  const bool use_kl = beta > 0.0;
  double loss = 0.0, loss_policy = 0.0;
  double tokens = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0, clipped = 0.0;
  float *grad = result->dloss_dlogprobs;

  for (int32_t i = 0; i < n; i++) {
    const double len = alg_counted_length(b, i, grad); /* |o_i| */
    if (len == 0.0) continue;
    const size_t row = (size_t)i * (size_t)t;
    const double w = 1.0 / ((double)n * len); /* this row's share of the mean */
    double row_policy = 0.0, row_kl = 0.0;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      const double m = mask[k];
      if (m == 0.0) {
        grad[k] = 0.0f;
        continue;
      }
      const clipped_token x = clipped_token_at(b, k, eps_low, eps_high);
      double g = clipped_dloss(x.c);
      row_policy += m * -x.c.surrogate;
      if (x.c.clipped) clipped += m;
      if (ref) {
        double dkl;
        const double kl = kl_k3(x.logp, ref[k], &dkl);
        row_kl += m * kl;
        kl_sum += m * kl;
        if (use_kl) g += beta * dkl;
      }
      grad[k] = (float)(w * m * g);
      tokens += m;
      ratio_sum += m * x.rho;
      adv_sum += m * x.adv;
    }
    loss_policy += w * row_policy;
    loss += w * (row_policy + (use_kl ? beta * row_kl : 0.0));
  }

  result->loss = loss;
  alg_metric(result, "loss_policy", loss_policy);
  alg_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  alg_metric(result, "clip_fraction", tokens > 0.0 ? clipped / tokens : 0.0);
  alg_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
}

/* The token-level loss over a constant denominator D > 0 (Dr. GRPO: N * L_max; DAPO:
 * sum_i |o_i|; D = 0, no counted token, gives L = 0):
 *   L = (1/D) sum_i sum_t m_t [ -min(rho_t A_t, clip(rho_t) A_t) + beta KL_t ]
 * Writes and reports as sequence_mean_clipped_loss. */
static inline void token_sum_clipped_loss(const rlax_rollout_batch *b, rlax_loss_result *result,
                                          double eps_low, double eps_high, double beta,
                                          double denominator) {
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask, *ref = b->ref_logprobs;
  const bool use_kl = beta > 0.0;
  const double w = denominator > 0.0 ? 1.0 / denominator : 0.0;
  float *grad = result->dloss_dlogprobs;
  double policy_sum = 0.0, kl_sum = 0.0, tokens = 0.0, clipped_sum = 0.0, ratio_sum = 0.0;
  double adv_sum = 0.0;
  for (size_t k = 0; k < (size_t)n * (size_t)t; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const clipped_token x = clipped_token_at(b, k, eps_low, eps_high);
    double g = -x.c.d_surrogate;
    policy_sum += m * -x.c.surrogate;
    if (ref) {
      double dkl;
      const double kl = kl_k3(x.logp, ref[k], &dkl);
      kl_sum += m * kl;
      if (use_kl) g += beta * dkl;
    }
    grad[k] = (float)(w * m * g);
    tokens += m;
    clipped_sum += x.c.clipped ? m : 0.0;
    ratio_sum += m * x.rho;
    adv_sum += m * x.adv;
  }
  const double loss_policy = w * policy_sum;
  result->loss = loss_policy + (use_kl ? w * beta * kl_sum : 0.0);
  alg_metric(result, "loss_policy", loss_policy);
  alg_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  alg_metric(result, "clip_fraction", tokens > 0.0 ? clipped_sum / tokens : 0.0);
  alg_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
}

/* Sums of token_mean_clipped_policy, for the caller's metrics (token means = sum / tokens). */
typedef struct clipped_policy_stats {
  double loss;    /* L_pi */
  double tokens;  /* sum_i |o_i| */
  double kl_sum;  /* sum m_t k1(logp_old_t, ref_t), 0 without ref_logprobs */
  double clipped; /* sum of m_t over clipped tokens */
  double ratio_sum;
  double adv_sum;
} clipped_policy_stats;

/* The token-mean policy loss (REINFORCE++, PPO), no KL term (theirs is in the advantages):
 *   L_pi = (1/sum_i |o_i|) sum_i sum_t m_t [ -min(rho_t A_t, clip(rho_t) A_t) ]
 * Writes dloss_dlogprobs (0 where the mask is 0); reports nothing. */
static inline clipped_policy_stats token_mean_clipped_policy(const rlax_rollout_batch *b,
                                                             float *grad, double eps_low,
                                                             double eps_high) {
  const size_t count = (size_t)b->num_sequences * (size_t)b->num_tokens;
  const float *mask = b->mask, *ref = b->ref_logprobs;
  clipped_policy_stats s = {0};
  for (size_t k = 0; k < count; k++) s.tokens += mask[k];
  const double w = s.tokens > 0.0 ? 1.0 / s.tokens : 0.0;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const clipped_token x = clipped_token_at(b, k, eps_low, eps_high);
    s.loss += w * m * -x.c.surrogate;
    grad[k] = (float)(w * m * clipped_dloss(x.c));
    if (x.c.clipped) s.clipped += m;
    if (ref) s.kl_sum += m * kl_k1(b->behavior_logprobs[k], ref[k]);
    s.ratio_sum += m * x.rho;
    s.adv_sum += m * x.adv;
  }
  return s;
}

#endif /* RLAX_PLUGINS_ALGORITHMS_SHARED_POLICY_LOSS_H */
