/*
 * cispo.c — CISPO (Clipped IS-weight Policy Optimization) as an rlax algorithm plugin.
 *
 * MiniMax 2025, "MiniMax-M1: Scaling Test-Time Compute Efficiently with Lightning Attention"
 * (arXiv 2506.13585), section 3.1: instead of dropping the update of a token whose
 * ratio leaves the trust region (PPO/GRPO clipping), clip the importance-sampling weight and
 * stop its gradient, so every token keeps a policy-gradient term:
 *
 *   A_i   = (r_i - mean_G r) / (std_G r + eps)
 *   rho_t = exp(x_t),  x_t = logp_t - logp_old_t
 *   w_t   = clip(rho_t, 1 - eps_low, 1 + eps_high)
 *   J     = (1 / sum_i |o_i|) sum_i sum_t m_t sg(w_t) A_t logp_t
 *   dL/dlogp_t = -(m_t / sum_i |o_i|) w_t A_t        (L = -J; every token gets a gradient)
 *
 * The reported loss is a surrogate whose exact derivative is that gradient (the literal
 * -sg(w) A logp has the right gradient but a value that depends on the absolute log-prob):
 *
 *   L = -(1 / sum_i |o_i|) sum_i sum_t m_t A_t F(x_t),   F'(x) = clip(exp(x), lo, hi):
 *   F(x) = exp(x) = rho                  lo <= rho <= hi       (the IS surrogate)
 *        = hi (1 + x - log hi)           rho > hi              (lo = 1 - eps_low,
 *        = lo (1 + x - log lo)           rho < lo               hi = 1 + eps_high)
 *
 * F is continuous with a continuous derivative, equals 1 on-policy, and where nothing is
 * clipped L is the usual -(1/sum|o|) sum m rho A. With eps_low = 1 (the default) lo = 0 and
 * there is no lower clip, as in the paper. See docs/algorithms.md ("CISPO").
 */
#define ALG_NAME "cispo"
#include "../shared/groups.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = ALG_HP("clip_low",
                           "epsilon_low^IS: the IS weight is clipped below at 1 - epsilon_low "
                           "(1: no lower bound, as in the paper)",
                           1.0, 0.0, 1.0),
    [HP_CLIP_HIGH] = ALG_HP("clip_high",
                            "epsilon_high^IS: the IS weight is clipped above at 1 + epsilon_high",
                            0.28, 0.0, 100.0),
    [HP_ADV_EPS] = GROUP_ADV_EPS_HP,
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  return group_normalized_advantages("compute_advantages", b, true, hp[HP_ADV_EPS], advantages);
}

/* F(x) with F'(x) = clip(exp(x), lo, hi) (see the header comment); *weight = F'(x). */
static double cispo_surrogate(double x, double lo, double hi, double *weight, bool *clipped) {
  const double rho = exp(x);
  if (rho > hi) {
    *weight = hi;
    *clipped = true;
    return hi * (1.0 + x - log(hi));
  }
  if (rho < lo) { /* never when lo = 0 */
    *weight = lo;
    *clipped = true;
    return lo * (1.0 + x - log(lo));
  }
  *weight = rho;
  *clipped = false;
  return rho;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  rlax_error *e = alg_check_loss_inputs("compute_loss", b, result, 0.0, NULL, ALG_RESULT_LOGPROBS);
  if (e) return e;
  const double lo = 1.0 - hp[HP_CLIP_LOW], hi = 1.0 + hp[HP_CLIP_HIGH];
  const size_t count = (size_t)b->num_sequences * (size_t)b->num_tokens;
  const float *mask = b->mask;
  float *grad = result->dloss_dlogprobs;
  const double total = alg_mask_total(b); /* sum_i |o_i|: token-level aggregation */
  const double w = total > 0.0 ? 1.0 / total : 0.0;

  double policy_sum = 0.0, clipped_sum = 0.0, ratio_sum = 0.0, weight_sum = 0.0, adv_sum = 0.0;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const double x = (double)b->logprobs[k] - (double)b->behavior_logprobs[k];
    const double adv = b->advantages[k];
    double weight;
    bool clipped;
    const double f = cispo_surrogate(x, lo, hi, &weight, &clipped);
    policy_sum += m * -adv * f;
    grad[k] = (float)(-w * m * weight * adv);
    clipped_sum += clipped ? m : 0.0;
    ratio_sum += m * exp(x);
    weight_sum += m * weight;
    adv_sum += m * adv;
  }

  result->loss = w * policy_sum;
  alg_metric(result, "loss_policy", result->loss);
  /* Tokens whose IS weight was truncated; unlike PPO clipping they keep their gradient. */
  alg_metric(result, "clip_fraction", total > 0.0 ? clipped_sum / total : 0.0);
  alg_metric(result, "ratio_mean", total > 0.0 ? ratio_sum / total : 0.0);
  alg_metric(result, "is_weight_mean", total > 0.0 ? weight_sum / total : 0.0);
  alg_metric(result, "advantage_mean", total > 0.0 ? adv_sum / total : 0.0);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "CISPO (MiniMax-M1): clipped, stop-gradient IS weight on every token's "
    "policy gradient, token-level mean",
    compute_advantages, compute_loss,
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps); rho_t = exp(logp_t - logp_old_t); "
               "J = (1/sum_i |o_i|) sum_i sum_t m_t sg(clip(rho_t, 1-eps_low, 1+eps_high)) A_i "
               "logp_t; dL/dlogp_t = -m_t clip(rho_t) A_i / sum_i |o_i| (L = -J)",
    .needs_reference_logprobs = false, .needs_value_head = false, .min_group_size = 2)
