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
 * See docs/algorithms.d/gspo.md.
 */
#include "../shared/group_policy.h"

#define PLUGIN "gspo"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_COUNT };

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = GP_HP("clip_low",
                          "epsilon_left: the sequence ratio s_i is clipped below at 1 - "
                          "epsilon_left",
                          3e-4, 0.0, 1.0),
    [HP_CLIP_HIGH] = GP_HP("clip_high",
                           "epsilon_right: the sequence ratio s_i is clipped above at 1 + "
                           "epsilon_right",
                           4e-4, 0.0, 10.0),
    [HP_ADV_EPS] = GP_HP("adv_eps", "eps: added to the group's reward std before dividing", 1e-6,
                         0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {&hp_table[0], &hp_table[1],
                                                             &hp_table[2]};

static const rlax_algorithm_info gspo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps); "
               "s_i = exp((1/|o_i|) sum_t m_t (logp_t - logp_old_t)); "
               "L = -(1/N) sum_i min(s_i A_i, clip(s_i, 1-eps_low, 1+eps_high) A_i)",
    .needs_reference_logprobs = false,
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *gspo_info(void) { return &gspo_info_value; }

static rlax_error *gspo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
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

static void gspo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *gspo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    PLUGIN ": get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

static rlax_error *gspo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
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
  e = gp_group_advantages(PLUGIN, fn, b, rewards, true, alg->hp[HP_ADV_EPS], advantages);
  free(rewards);
  return e;
}

static rlax_error *gspo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                     rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  rlax_error *e = gp_check_loss_inputs(PLUGIN, fn, b, result, 0.0, false, NULL);
  if (e) return e;
  const double eps_low = alg->hp[HP_CLIP_LOW], eps_high = alg->hp[HP_CLIP_HIGH];
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  float *grad = result->dloss_dlogprobs;
  const double w = 1.0 / (double)n; /* each sequence's share of the mean */

  double loss = 0.0, tokens = 0.0, clipped_tokens = 0.0, adv_sum = 0.0;
  double ratio_sum = 0.0, sequences = 0.0, clipped_sequences = 0.0;
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    const double len = gp_row_length(mask, i, t); /* |o_i| */
    if (len == 0.0) {
      for (int32_t j = 0; j < t; j++) grad[row + (size_t)j] = 0.0f;
      continue;
    }
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
    double d_surrogate; /* d min(...) / d log s_i */
    bool clipped;
    const double surrogate = gp_clipped_min(s, adv, eps_low, eps_high, &d_surrogate, &clipped);
    loss += w * -surrogate;
    /* d log s_i / d logp_t = m_t / |o_i| */
    const double g = -w * d_surrogate / len;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      grad[k] = mask[k] != 0.0f ? (float)(g * (double)mask[k]) : 0.0f;
    }
    tokens += len;
    adv_sum += adv * len;
    sequences += 1.0;
    ratio_sum += s;
    if (clipped) {
      clipped_tokens += len;
      clipped_sequences += 1.0;
    }
  }

  result->loss = loss;
  gp_metric(result, "loss_policy", loss);
  gp_metric(result, "clip_fraction", tokens > 0.0 ? clipped_tokens / tokens : 0.0);
  gp_metric(result, "clip_fraction_sequences", sequences > 0.0 ? clipped_sequences / sequences : 0.0);
  gp_metric(result, "ratio_mean", sequences > 0.0 ? ratio_sum / sequences : 0.0);
  gp_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

static const rlax_algorithm_api gspo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = gp_error_code,
    .error_message = gp_error_message,
    .error_destroy = gp_error_destroy,
    .info = gspo_info,
    .create = gspo_create,
    .destroy = gspo_destroy,
    .get_hyperparameters = gspo_get_hyperparameters,
    .compute_advantages = gspo_compute_advantages,
    .compute_loss = gspo_compute_loss,
};

static const rlax_manifest gspo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = PLUGIN,
    .version = "0.1.0",
    .description = "GSPO (Zheng et al. 2025): sequence-level length-normalised ratio, clipped "
                   "per sequence, group-normalised advantages",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &gspo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, PLUGIN)) return NULL;
  return &gspo_api;
}
