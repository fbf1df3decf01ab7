/*
 * rloo.c — REINFORCE Leave-One-Out as an rlax algorithm plugin.
 *
 * Ahmadian et al. 2024, "Back to Basics: Revisiting REINFORCE Style Optimization for Learning
 * from Human Feedback in LLMs" (arXiv 2402.14740), section 3.2 (RLOO), after Kool et al. 2019,
 * "Buy 4 REINFORCE Samples, Get a Baseline for Free!":
 *
 *   A_i   = r_i - (1/(G-1)) sum_{j != i, j in G} r_j     (a group of one row: A_i = 0)
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(ref_t - logp_t) - (ref_t - logp_t) - 1   (k3, only when kl_beta > 0)
 *   L     = (1/N) sum_i (1/|o_i|) sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i)
 *                                             + beta KL_t ]
 *
 * The paper optimises the plain REINFORCE estimator on-policy; the clipped ratio makes the same
 * loss usable for several updates per batch or stale rollouts, and equals it (in gradient) when
 * rho = 1. N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no
 * counted token contributes 0 (it still counts in N). See docs/algorithms.md ("RLOO").
 */
#define ALG_NAME "rloo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = CLIP_HIGH_HP,
    [HP_KL_BETA] = ALG_HP("kl_beta",
                          "beta: weight of the k3 KL penalty to the reference policy (0 = none)",
                          0.0, 0.0, 100.0),
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  (void)hp;
  rlax_error *e = alg_check_advantage_inputs(fn, b, advantages, true, 0.0, NULL);
  double *rewards = NULL;
  if (!e) e = alg_rewards_as_double(fn, b, &rewards);
  if (!e) e = group_leave_one_out_advantages(fn, b, rewards, advantages);
  free(rewards);
  return e;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  const double beta = hp[HP_KL_BETA];
  rlax_error *e =
      alg_check_loss_inputs("compute_loss", b, result, beta, NULL, ALG_RESULT_VALUES_FIELD);
  if (e) return e;
  sequence_mean_clipped_loss(b, result, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH], beta);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "RLOO (Ahmadian et al. 2024): leave-one-out baseline, clipped ratio, optional k3 KL to the "
    "reference",
    compute_advantages, compute_loss,
    .formula = "A_i = r_i - (1/(G-1)) sum_{j != i in G} r_j (leave-one-out); "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true, /* only when kl_beta > 0; otherwise NULL is accepted */
    .needs_value_head = false, .min_group_size = 2)
