/*
 * gspo.c — Group Sequence Policy Optimization as an rlax algorithm plugin.
 *
 * Zheng et al. 2025, "Group Sequence Policy Optimization" (arXiv 2507.18071), section 4.1:
 * the importance ratio, the clipping and the reward are all per sequence. The ratio is the
 * length-normalised sequence likelihood ratio:
 *
 *   A_i = (r_i - mean_G r) / (std_G r + eps)
 *   s_i = exp( (1/|o_i|) sum_t m_t (logp_t - logp_old_t) )
 *   L   = -(1/N) sum_i min(s_i A_i, clip(s_i, 1 - eps_low, 1 + eps_high) A_i)
 *
 * N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no counted token
 * contributes 0 (it still counts in N). A_i is read back as the mask-weighted mean of row i's
 * advantages (compute_advantages writes the same A_i to every counted token). The gradient
 * reaches every token of an unclipped sequence through s_i:
 *   dL/dlogp_t = -(1/N) s_i A_i m_t / |o_i|   (0 for every token of a clipped sequence).
 * See docs/algorithms.md ("GSPO").
 */
#define ALG_NAME "gspo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = ALG_HP("clip_low",
                           "epsilon_left: the sequence ratio s_i is clipped below at 1 - "
                           "epsilon_left",
                           3e-4, 0.0, 1.0),
    [HP_CLIP_HIGH] = ALG_HP("clip_high",
                            "epsilon_right: the sequence ratio s_i is clipped above at 1 + "
                            "epsilon_right",
                            4e-4, 0.0, 10.0),
    [HP_ADV_EPS] = GROUP_ADV_EPS_HP,
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  return group_normalized_advantages("compute_advantages", b, true, hp[HP_ADV_EPS], advantages);
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  rlax_error *e = alg_check_loss_inputs("compute_loss", b, result, 0.0, NULL, ALG_RESULT_LOGPROBS);
  if (e) return e;
  const double eps_low = hp[HP_CLIP_LOW], eps_high = hp[HP_CLIP_HIGH];
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  float *grad = result->dloss_dlogprobs;
  const double w = 1.0 / (double)n; /* each sequence's share of the mean */

  double loss = 0.0, tokens = 0.0, clipped_tokens = 0.0, adv_sum = 0.0;
  double ratio_sum = 0.0, sequences = 0.0, clipped_sequences = 0.0;
  for (int32_t i = 0; i < n; i++) {
    const double len = alg_counted_length(b, i, grad); /* |o_i| */
    if (len == 0.0) continue;
    const size_t row = (size_t)i * (size_t)t;
    double log_ratio = 0.0, adv = 0.0;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      const double m = mask[k];
      if (m == 0.0) continue;
      log_ratio += m * ((double)b->logprobs[k] - (double)b->behavior_logprobs[k]);
      adv += m * (double)b->advantages[k];
    }
    log_ratio /= len;
    adv /= len;
    const double s = exp(log_ratio);
    /* c.d_surrogate = d min(...) / d log s_i */
    const clipped_term c = clipped_surrogate(s, adv, eps_low, eps_high);
    loss += w * -c.surrogate;
    /* d log s_i / d logp_t = m_t / |o_i| */
    const double g = -w * c.d_surrogate / len;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      grad[k] = mask[k] != 0.0f ? (float)(g * (double)mask[k]) : 0.0f;
    }
    tokens += len;
    adv_sum += adv * len;
    sequences += 1.0;
    ratio_sum += s;
    if (c.clipped) {
      clipped_tokens += len;
      clipped_sequences += 1.0;
    }
  }

  result->loss = loss;
  alg_metric(result, "loss_policy", loss);
  alg_metric(result, "clip_fraction", tokens > 0.0 ? clipped_tokens / tokens : 0.0);
  alg_metric(result, "clip_fraction_sequences", sequences > 0.0 ? clipped_sequences / sequences : 0.0);
  alg_metric(result, "ratio_mean", sequences > 0.0 ? ratio_sum / sequences : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "GSPO (Zheng et al. 2025): sequence-level length-normalised ratio, clipped "
    "per sequence, group-normalised advantages",
    compute_advantages, compute_loss,
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps); "
               "s_i = exp((1/|o_i|) sum_t m_t (logp_t - logp_old_t)); "
               "L = -(1/N) sum_i min(s_i A_i, clip(s_i, 1-eps_low, 1+eps_high) A_i)",
    .needs_reference_logprobs = false, .needs_value_head = false, .min_group_size = 2)
