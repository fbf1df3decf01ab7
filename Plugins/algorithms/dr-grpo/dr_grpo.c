/*
 * dr_grpo.c — Dr. GRPO ("GRPO Done Right") as an rlax algorithm plugin.
 *
 * Liu et al. 2025, "Understanding R1-Zero-Like Training: A Critical Perspective"
 * (arXiv 2503.20783), section 3.2: GRPO without its two biases, the std division of the
 * advantage (question-level difficulty bias) and the 1/|o_i| of the loss (response-length
 * bias). The token sum is divided by a constant instead:
 *
 *   A_i   = r_i - mean_G r
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(ref_t - logp_t) - (ref_t - logp_t) - 1                 (k3, only if beta > 0)
 *   L     = (1/(N L_max)) sum_i sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i)
 *                                           + beta KL_t ]
 *
 * N is the number of sequences in the batch and L_max = batch.max_response_tokens (the
 * generation budget), the paper's MAX_TOKENS. See docs/algorithms.md ("Dr. GRPO").
 */
#define ALG_NAME "dr-grpo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = CLIP_HIGH_HP,
    [HP_KL_BETA] = ALG_HP("kl_beta",
                          "beta: weight of the k3 KL penalty to the reference policy (0: none, "
                          "as in the paper)",
                          0.0, 0.0, 100.0),
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  (void)hp;
  return group_normalized_advantages("compute_advantages", b, false, 0.0, advantages);
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  const double beta = hp[HP_KL_BETA];
  rlax_error *e = alg_check_loss_inputs(
      "compute_loss", b, result, beta,
      "Dr. GRPO divides the token sum by N * max_response_tokens", ALG_RESULT_LOGPROBS);
  if (e) return e;
  const double denominator = (double)b->num_sequences * (double)b->max_response_tokens;
  token_sum_clipped_loss(b, result, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH], beta, denominator);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "Dr. GRPO (Liu et al. 2025): unnormalised group advantages, clipped ratio, "
    "token sum over N * L_max",
    compute_advantages, compute_loss,
    .formula = "A_i = r_i - mean_G r (no std division); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/(N L_max)) sum_i sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], L_max = max_response_tokens, "
               "KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true, /* only used when kl_beta > 0 */
    .needs_value_head = false, .min_group_size = 2)
