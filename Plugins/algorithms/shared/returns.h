/*
 * returns.h — per-token rewards, discounted returns, GAE and batch whitening, for the plugins
 * that turn a sequence reward into token advantages (reinforce-pp, ppo). Header-only, on top
 * of algorithm_plugin.h and policy_loss.h (for the k1 estimator).
 *
 *   token_rewards       r_t = -beta m_t k1(logp_old_t, ref_t) + [t = last counted] r_i
 *   discounted_returns  G_t = r_t + gamma G_{t'}
 *   gae                 A_t = delta_t + gamma lambda A_{t'},  R_t = A_t + V_t
 *   whiten              x <- (x - mean) / (std + eps) over the batch's counted tokens
 *
 * Conventions: arrays are row-major [N, T]; a token "counts" where mask != 0 and the mask is
 * its weight; a sequence's reward sits on its LAST counted token; padding (mask = 0) is
 * skipped by returns and GAE, as if it were not there (t' is the next counted token).
 */
#ifndef RLAX_PLUGINS_ALGORITHMS_SHARED_RETURNS_H
#define RLAX_PLUGINS_ALGORITHMS_SHARED_RETURNS_H

#include "algorithm_plugin.h"
#include "policy_loss.h"

/* Index of the last counted token of a row, or -1 when none counts. */
static inline int32_t last_counted_token(const float *mask_row, int32_t t) {
  for (int32_t j = t - 1; j >= 0; j--)
    if (mask_row[j] != 0.0f) return j;
  return -1;
}

/* r_t = -beta * m_t * (behavior_t - ref_t) on counted tokens (k1, behaviour policy, no gradient;
 * beta = 0 or ref = NULL: no KL), plus the sequence reward on the last counted token; 0 on
 * padding. Returns the row's summed k1 (sum_t m_t (behavior_t - ref_t)), 0 without ref. */
static inline double token_rewards(const float *mask_row, const float *behavior_row,
                                   const float *ref_row, double beta, double reward, int32_t t,
                                   double *out) {
  double kl = 0.0;
  for (int32_t j = 0; j < t; j++) {
    out[j] = 0.0;
    const double m = mask_row[j];
    if (m == 0.0) continue;
    if (ref_row) {
      const double k1 = m * kl_k1(behavior_row[j], ref_row[j]);
      kl += k1;
      if (beta > 0.0) out[j] = -beta * k1;
    }
  }
  const int32_t last = last_counted_token(mask_row, t);
  if (last >= 0) out[last] += reward;
  return kl;
}

/* G_t = r_t + gamma G_{t'} over counted tokens (G past the last is 0); 0 on padding.
 * rewards and out may be the same array. */
static inline void discounted_returns(const float *mask_row, const double *rewards, double gamma,
                                      int32_t t, double *out) {
  double next = 0.0;
  for (int32_t j = t - 1; j >= 0; j--) {
    if (mask_row[j] == 0.0f) {
      out[j] = 0.0;
      continue;
    }
    next = rewards[j] + gamma * next;
    out[j] = next;
  }
}

/* GAE (Schulman et al. 2016) over counted tokens, V = values_row (at generation time):
 *   delta_t = r_t + gamma V_{t'} - V_t     (V past the last counted token is 0)
 *   A_t = delta_t + gamma lambda A_{t'},   R_t = A_t + V_t.
 * adv and ret are 0 on padding; ret may be NULL. */
static inline void gae(const float *mask_row, const double *rewards, const float *values_row,
                       double gamma, double lambda, int32_t t, double *adv, double *ret) {
  double next_value = 0.0, next_adv = 0.0;
  for (int32_t j = t - 1; j >= 0; j--) {
    if (mask_row[j] == 0.0f) {
      adv[j] = 0.0;
      if (ret) ret[j] = 0.0;
      continue;
    }
    const double v = values_row[j];
    const double delta = rewards[j] + gamma * next_value - v;
    next_adv = delta + gamma * lambda * next_adv;
    next_value = v;
    adv[j] = next_adv;
    if (ret) ret[j] = next_adv + v;
  }
}

/* Whitens x[count] over the counted tokens of the batch, weighted by the mask:
 *   x <- (x - mean) / (std + eps),  mean and (population) std weighted by m; 0 on padding.
 * With std + eps == 0 (every counted value equal and eps = 0) the result is 0. */
static inline void whiten(double *x, const float *mask, size_t count, double eps) {
  double w = 0.0, sum = 0.0;
  for (size_t k = 0; k < count; k++)
    if (mask[k] != 0.0f) {
      w += mask[k];
      sum += mask[k] * x[k];
    }
  const double mean = w > 0.0 ? sum / w : 0.0;
  double var = 0.0;
  for (size_t k = 0; k < count; k++)
    if (mask[k] != 0.0f) {
      const double d = x[k] - mean;
      var += mask[k] * d * d;
    }
  const double std = w > 0.0 ? sqrt(var / w) : 0.0;
  const double denom = std + eps;
  for (size_t k = 0; k < count; k++) {
    if (mask[k] == 0.0f || denom == 0.0)
      x[k] = 0.0;
    else
      x[k] = (x[k] - mean) / denom;
  }
}

/* out[k] = x[k] as float where the mask counts the token, else 0. */
static inline void tokens_to_float(const double *x, const float *mask, size_t count, float *out) {
  for (size_t k = 0; k < count; k++) out[k] = mask[k] != 0.0f ? (float)x[k] : 0.0f;
}

#endif /* RLAX_PLUGINS_ALGORITHMS_SHARED_RETURNS_H */
