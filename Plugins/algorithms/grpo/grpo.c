/*
 * grpo.c — Group Relative Policy Optimization as an rlax algorithm plugin.
 *
 * Shao et al. 2024, "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open
 * Language Models" (arXiv 2402.03300), section 4.1 (outcome supervision), with the k3 KL
 * estimator of Schulman's "Approximating KL divergence" as used by DeepSeek-R1
 * (arXiv 2501.12948):
 *
 *   A_i   = (r_i - mean_G r) / (std_G r + eps)    std_G: population std of the group's rewards
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(ref_t - logp_t) - (ref_t - logp_t) - 1
 *   L     = (1/N) sum_i (1/|o_i|) sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i)
 *                                             + beta KL_t ]
 *
 * N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no counted
 * token contributes 0 (it still counts in N). See docs/algorithms.md.
 */
#define ALG_NAME "grpo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_ADV_EPS, HP_STD_NORMALIZE, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = CLIP_HIGH_HP,
    [HP_KL_BETA] = ALG_HP("kl_beta", "beta: weight of the k3 KL penalty to the reference policy",
                          0.04, 0.0, 100.0),
    [HP_ADV_EPS] = GROUP_ADV_EPS_HP,
    [HP_STD_NORMALIZE] = ALG_HP("std_normalize",
                                "1: A_i = (r_i - mean) / (std + eps); 0: A_i = r_i - mean (Dr. GRPO)",
                                1.0, 0.0, 1.0),
};

/* A_i = (r_i - mean) * (1 / (std + eps)), or r_i - mean; 0 for a lone row and where r_i - mean
 * is exactly 0 (GRPO's own form: it multiplies by the reciprocal and does not test the spread
 * as group_normalized_advantages does, so the two differ in the last bits). */
static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  rlax_error *e = alg_check_advantage_inputs(fn, b, advantages, true, 0.0, NULL);
  if (e) return e;
  const int32_t n = b->num_sequences;
  const double eps = hp[HP_ADV_EPS];
  const bool normalize = hp[HP_STD_NORMALIZE] != 0.0;
  double *rewards;
  group_stat *stats;
  if (!(e = group_reward_stats(fn, b, &rewards, &stats)))
    for (int32_t i = 0; i < n; i++) {
      double row_adv = 0.0; /* a lone sample has no group to compare with */
      if (stats[i].size > 1) {
        const double scale = normalize ? 1.0 / (stats[i].std + eps) : 1.0;
        const double a = rewards[i] - stats[i].mean;
        /* All-equal rewards with eps = 0: 0 / 0; the advantage is 0. */
        row_adv = a == 0.0 ? 0.0 : a * scale;
      }
      alg_broadcast_row(b, i, row_adv, advantages);
    }
  free(stats);
  free(rewards);
  return e;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  const double beta = hp[HP_KL_BETA];
  rlax_error *e = alg_check_loss_inputs("compute_loss", b, result, beta, NULL, ALG_RESULT_LOGPROBS);
  if (e) return e;
  sequence_mean_clipped_loss(b, result, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH], beta);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, ALG_SWITCH(HP_STD_NORMALIZE),
    "GRPO (DeepSeekMath): group-normalised advantages, clipped ratio, k3 KL to the reference",
    compute_advantages, compute_loss,
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps), std_G the population std of the group; "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true, .needs_value_head = false, .min_group_size = 2)
