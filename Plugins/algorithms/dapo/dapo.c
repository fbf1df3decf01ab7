/*
 * dapo.c — DAPO (Decoupled Clip and Dynamic sAmpling Policy Optimization) as an rlax
 * algorithm plugin.
 *
 * Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement Learning System at Scale"
 * (arXiv 2503.14476), section 3: clip-higher (3.1), dynamic sampling (3.2), token-level
 * policy-gradient loss (3.3), overlong reward shaping (3.4), and no KL term (2.3):
 *
 *   R_len(|o|) = 0                                  |o| <= L_max - L_cache
 *              = ((L_max - L_cache) - |o|) / L_cache L_max - L_cache < |o| <= L_max
 *              = -1                                 L_max < |o|
 *   A_i   = (r'_i - mean_G r') / (std_G r' + eps),  r'_i = r_i + R_len(|o_i|)
 *   rho_t = exp(logp_t - logp_old_t)
 *   L     = (1 / sum_i |o_i|) sum_i sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i) ]
 *   keep_i = 0 < #correct < G, read as: the group's raw rewards r (before shaping) are not
 *            all equal (select_sequences)
 *
 * L_max = batch.max_response_tokens, L_cache = overlong_fraction * L_max, |o_i| = sum_t m_t.
 * See docs/algorithms.d/dapo.md.
 */
#include "../shared/group_policy.h"

#define PLUGIN "dapo"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_OVERLONG_SHAPING, HP_OVERLONG_FRACTION, HP_COUNT };

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = GP_HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                          0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = GP_HP("clip_high",
                           "epsilon_high: the ratio is clipped above at 1 + epsilon_high "
                           "(clip-higher)",
                           0.28, 0.0, 10.0),
    [HP_ADV_EPS] = GP_HP("adv_eps", "eps: added to the group's reward std before dividing", 1e-6,
                         0.0, 1.0),
    [HP_OVERLONG_SHAPING] = GP_HP("overlong_shaping",
                                  "1: add the soft overlong penalty R_length to each reward "
                                  "before the advantages; 0: raw rewards",
                                  1.0, 0.0, 1.0),
    [HP_OVERLONG_FRACTION] = GP_HP("overlong_fraction",
                                   "L_cache / L_max: the soft punishment interval, a fraction "
                                   "of max_response_tokens (paper: 4096 of 20480)",
                                   0.2, 0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {
    &hp_table[0], &hp_table[1], &hp_table[2], &hp_table[3], &hp_table[4],
};

static const rlax_algorithm_info dapo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "r'_i = r_i + R_len(|o_i|), R_len = 0 if |o| <= L_max - L_cache, "
               "((L_max - L_cache) - |o|)/L_cache if <= L_max, -1 beyond; "
               "A_i = (r'_i - mean_G r') / (std_G r' + eps); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum_i |o_i|) sum_i sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i)]; keep groups whose raw rewards are not all equal",
    .needs_reference_logprobs = false, /* DAPO has no KL term */
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

static const char why_max_tokens[] =
    "overlong_shaping=1 measures lengths against it; pass it, or set overlong_shaping=0";

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *dapo_info(void) { return &dapo_info_value; }

static rlax_error *dapo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = gp_create_values(PLUGIN, hp_table, HP_COUNT, GP_SWITCH(HP_OVERLONG_SHAPING),
                                   args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return gp_error(RLAX_ERROR_OUT_OF_MEMORY, PLUGIN ": create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void dapo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *dapo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    PLUGIN ": get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* DAPO section 3.4: the soft overlong punishment of a response of `length` tokens. */
static double overlong_penalty(double length, double l_max, double l_cache) {
  const double soft_start = l_max - l_cache;
  if (length <= soft_start) return 0.0;
  if (length <= l_max) return (soft_start - length) / l_cache; /* l_cache > 0 here */
  return -1.0;
}

static rlax_error *dapo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                           float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  const bool shaping = alg->hp[HP_OVERLONG_SHAPING] != 0.0;
  rlax_error *e = gp_check_advantage_inputs(PLUGIN, fn, b, advantages, shaping, why_max_tokens);
  if (e) return e;
  const int32_t n = b->num_sequences;
  double *rewards = malloc((size_t)n * sizeof *rewards);
  if (!rewards)
    return gp_error(RLAX_ERROR_OUT_OF_MEMORY, PLUGIN ": %s: out of memory for %d rows", fn, (int)n);
  const double l_max = shaping ? (double)b->max_response_tokens : 0.0;
  const double l_cache = alg->hp[HP_OVERLONG_FRACTION] * l_max;
  for (int32_t i = 0; i < n; i++) {
    rewards[i] = b->rewards[i];
    if (shaping) rewards[i] += overlong_penalty(gp_row_length(b->mask, i, b->num_tokens), l_max, l_cache);
  }
  e = gp_group_advantages(PLUGIN, fn, b, rewards, true, alg->hp[HP_ADV_EPS], advantages);
  free(rewards);
  return e;
}

static rlax_error *dapo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                     rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  rlax_error *e = gp_check_loss_inputs(PLUGIN, fn, b, result, 0.0, false, NULL);
  if (e) return e;
  /* Token-level: every counted token of the batch weighs the same. */
  gp_token_clipped_loss(b, result, alg->hp[HP_CLIP_LOW], alg->hp[HP_CLIP_HIGH], 0.0,
                        gp_mask_total(b));
  return NULL;
}

/* Dynamic sampling: keep[i] = 1 when row i's group has raw rewards that are not all equal
 * (with 0/1 correctness rewards: 0 < #correct < G); a group of one row carries no signal. */
static rlax_error *dapo_select_sequences(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                         uint8_t *keep) {
  static const char fn[] = "select_sequences";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  rlax_error *e = gp_check_batch(PLUGIN, fn, b, false, NULL);
  if (!e) e = gp_require(PLUGIN, fn, b->group_ids, "group_ids");
  if (!e) e = gp_require(PLUGIN, fn, b->rewards, "rewards");
  if (!e && !keep) e = gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: keep (output) is NULL", fn);
  if (!e) e = gp_check_rewards(PLUGIN, fn, b->rewards, b->num_sequences);
  if (e) return e;
  const int32_t n = b->num_sequences;
  double *rewards = malloc((size_t)n * sizeof *rewards);
  gp_group_stat *stats = malloc((size_t)n * sizeof *stats);
  if (!rewards || !stats) {
    free(rewards);
    free(stats);
    return gp_error(RLAX_ERROR_OUT_OF_MEMORY, PLUGIN ": %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++) rewards[i] = b->rewards[i];
  e = gp_group_stats(PLUGIN, fn, n, b->group_ids, rewards, stats);
  if (!e)
    for (int32_t i = 0; i < n; i++) keep[i] = stats[i].size > 1 && stats[i].spread ? 1 : 0;
  free(rewards);
  free(stats);
  return e;
}

static const rlax_algorithm_api dapo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = gp_error_code,
    .error_message = gp_error_message,
    .error_destroy = gp_error_destroy,
    .info = dapo_info,
    .create = dapo_create,
    .destroy = dapo_destroy,
    .get_hyperparameters = dapo_get_hyperparameters,
    .compute_advantages = dapo_compute_advantages,
    .compute_loss = dapo_compute_loss,
    .select_sequences = dapo_select_sequences,
};

static const rlax_manifest dapo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = PLUGIN,
    .version = "0.1.0",
    .description = "DAPO (Yu et al. 2025): clip-higher, token-level loss, overlong reward "
                   "shaping, dynamic sampling; no KL",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &dapo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, PLUGIN)) return NULL;
  return &dapo_api;
}
