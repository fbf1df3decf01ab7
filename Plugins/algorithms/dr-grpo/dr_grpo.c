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
 * generation budget), the paper's MAX_TOKENS. See docs/algorithms.d/dr-grpo.md.
 */
#include "../shared/group_policy.h"

#define PLUGIN "dr-grpo"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_COUNT };

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = GP_HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                          0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = GP_HP("clip_high",
                           "epsilon_high: the ratio is clipped above at 1 + epsilon_high", 0.2,
                           0.0, 10.0),
    [HP_KL_BETA] = GP_HP("kl_beta",
                         "beta: weight of the k3 KL penalty to the reference policy (0: none, "
                         "as in the paper)",
                         0.0, 0.0, 100.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {&hp_table[0], &hp_table[1],
                                                             &hp_table[2]};

static const rlax_algorithm_info dr_grpo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = r_i - mean_G r (no std division); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/(N L_max)) sum_i sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], L_max = max_response_tokens, "
               "KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true, /* only used when kl_beta > 0 */
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

static const char why_max_tokens[] = "Dr. GRPO divides the token sum by N * max_response_tokens";

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *dr_grpo_info(void) { return &dr_grpo_info_value; }

static rlax_error *dr_grpo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = gp_create_values(PLUGIN, hp_table, HP_COUNT, 0, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return gp_error(RLAX_ERROR_OUT_OF_MEMORY, PLUGIN ": create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void dr_grpo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *dr_grpo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    PLUGIN ": get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

static rlax_error *dr_grpo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                              float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  rlax_error *e = gp_check_advantage_inputs(PLUGIN, fn, b, advantages, false, NULL);
  if (e) return e;
  const int32_t n = b->num_sequences;
  double *rewards = malloc((size_t)n * sizeof *rewards);
  if (!rewards)
    return gp_error(RLAX_ERROR_OUT_OF_MEMORY, PLUGIN ": %s: out of memory for %d rows", fn, (int)n);
  for (int32_t i = 0; i < n; i++) rewards[i] = b->rewards[i];
  e = gp_group_advantages(PLUGIN, fn, b, rewards, false, 0.0, advantages);
  free(rewards);
  return e;
}

static rlax_error *dr_grpo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                        rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  const double beta = alg->hp[HP_KL_BETA];
  rlax_error *e = gp_check_loss_inputs(PLUGIN, fn, b, result, beta, true, why_max_tokens);
  if (e) return e;
  const double denominator = (double)b->num_sequences * (double)b->max_response_tokens;
  gp_token_clipped_loss(b, result, alg->hp[HP_CLIP_LOW], alg->hp[HP_CLIP_HIGH], beta, denominator);
  return NULL;
}

static const rlax_algorithm_api dr_grpo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = gp_error_code,
    .error_message = gp_error_message,
    .error_destroy = gp_error_destroy,
    .info = dr_grpo_info,
    .create = dr_grpo_create,
    .destroy = dr_grpo_destroy,
    .get_hyperparameters = dr_grpo_get_hyperparameters,
    .compute_advantages = dr_grpo_compute_advantages,
    .compute_loss = dr_grpo_compute_loss,
};

static const rlax_manifest dr_grpo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = PLUGIN,
    .version = "0.1.0",
    .description = "Dr. GRPO (Liu et al. 2025): unnormalised group advantages, clipped ratio, "
                   "token sum over N * L_max",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &dr_grpo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, PLUGIN)) return NULL;
  return &dr_grpo_api;
}
