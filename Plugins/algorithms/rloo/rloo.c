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
 * counted token contributes 0 (it still counts in N). See docs/algorithms.d/rloo.md.
 */
#include "../shared/returns.h"

RLAX_DEFINE_ERRORS(rloo)

static const char plugin[] = "rloo";

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_COUNT };

#define HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                       0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = HP("clip_high", "epsilon_high: the ratio is clipped above at 1 + epsilon_high",
                        0.2, 0.0, 10.0),
    [HP_KL_BETA] = HP("kl_beta", "beta: weight of the k3 KL penalty to the reference policy (0 = none)",
                      0.0, 0.0, 100.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {&hp_table[0], &hp_table[1], &hp_table[2]};

static const rlax_algorithm_info rloo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = r_i - (1/(G-1)) sum_{j != i in G} r_j (leave-one-out); "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true, /* only when kl_beta > 0; otherwise NULL is accepted */
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *rloo_info(void) { return &rloo_info_value; }

static rlax_error *rloo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return rloo_error(RLAX_ERROR_INVALID_ARGUMENT, "rloo: create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = rr_parse_create_args(plugin, hp_table, HP_COUNT, 0u, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return rloo_error(RLAX_ERROR_OUT_OF_MEMORY, "rloo: create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void rloo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *rloo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return rloo_error(RLAX_ERROR_INVALID_ARGUMENT, "rloo: get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages                                                                                */

static rlax_error *rloo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                           float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return rloo_error(RLAX_ERROR_INVALID_ARGUMENT, "rloo: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (!e) e = rr_require(plugin, fn, b->group_ids, "group_ids");
  if (!e) e = rr_require(plugin, fn, b->rewards, "rewards");
  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e && !advantages)
    e = rloo_error(RLAX_ERROR_INVALID_ARGUMENT, "rloo: %s: advantages (output) is NULL", fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  if ((e = rr_check_mask(plugin, fn, b->mask, n, t))) return e;
  if ((e = rr_check_rewards(plugin, fn, b->rewards, n))) return e;

  double *r = malloc((size_t)n * sizeof *r), *row_adv = malloc((size_t)n * sizeof *row_adv);
  if (!r || !row_adv) {
    free(r);
    free(row_adv);
    return rloo_error(RLAX_ERROR_OUT_OF_MEMORY, "rloo: %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++) r[i] = b->rewards[i];
  if (!rr_leave_one_out(n, b->group_ids, r, row_adv)) {
    free(r);
    free(row_adv);
    return rloo_error(RLAX_ERROR_OUT_OF_MEMORY, "rloo: %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      advantages[k] = b->mask[k] != 0.0f ? (float)row_adv[i] : 0.0f;
    }
  free(r);
  free(row_adv);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loss and gradient                                                                         */

static rlax_error *rloo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                     rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return rloo_error(RLAX_ERROR_INVALID_ARGUMENT, "rloo: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (e) return e;
  const double clip_low = alg->hp[HP_CLIP_LOW], clip_high = alg->hp[HP_CLIP_HIGH];
  const double beta = alg->hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;

  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e) e = rr_require(plugin, fn, b->logprobs, "logprobs");
  if (!e) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require(plugin, fn, b->advantages, "advantages");
  if (!e) e = rr_require_ref(plugin, fn, b, beta);
  if (!e) e = rr_check_result(plugin, fn, result, false);
  if (e) return e;

  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = rr_check_mask(plugin, fn, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "advantages", b->advantages, mask, n, t))) return e;
  const float *ref = b->ref_logprobs; /* used for the kl metric even when beta = 0 */
  if (ref && (e = rr_check_finite(plugin, fn, "ref_logprobs", ref, mask, n, t))) return e;

  double loss = 0.0, loss_policy = 0.0;
  double tokens = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0, clipped = 0.0;
  float *grad = result->dloss_dlogprobs;

  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    const double len = rr_row_length(mask + row, t); /* |o_i| */
    if (len == 0.0) {
      for (int32_t j = 0; j < t; j++) grad[row + (size_t)j] = 0.0f;
      continue;
    }
    const double w = 1.0 / ((double)n * len); /* this row's share of the mean */
    double row_policy = 0.0, row_kl = 0.0;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      const double m = mask[k];
      if (m == 0.0) {
        grad[k] = 0.0f;
        continue;
      }
      const double logp = b->logprobs[k], adv = b->advantages[k];
      const rr_clip_term c = rr_ppo_clip(logp, b->behavior_logprobs[k], adv, clip_low, clip_high);
      double g = c.dlogp;
      row_policy += m * c.loss;
      if (c.clipped) clipped += m;
      if (ref) {
        const double kl = rr_k3(logp, ref[k]);
        row_kl += m * kl;
        kl_sum += m * kl;
        if (use_kl) g += beta * (1.0 - exp((double)ref[k] - logp));
      }
      grad[k] = (float)(w * m * g);
      tokens += m;
      ratio_sum += m * c.rho;
      adv_sum += m * adv;
    }
    loss_policy += w * row_policy;
    loss += w * (row_policy + (use_kl ? beta * row_kl : 0.0));
  }

  result->loss = loss;
  rr_metric(result, "loss_policy", loss_policy);
  rr_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  rr_metric(result, "clip_fraction", tokens > 0.0 ? clipped / tokens : 0.0);
  rr_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  rr_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_algorithm_api rloo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = rloo_error_code,
    .error_message = rloo_error_message,
    .error_destroy = rloo_error_destroy,
    .info = rloo_info,
    .create = rloo_create,
    .destroy = rloo_destroy,
    .get_hyperparameters = rloo_get_hyperparameters,
    .compute_advantages = rloo_compute_advantages,
    .compute_loss = rloo_compute_loss,
};

static const rlax_manifest rloo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "rloo",
    .version = "0.1.0",
    .description = "RLOO (Ahmadian et al. 2024): leave-one-out baseline, clipped ratio, optional k3 KL to the reference",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &rloo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "rloo")) return NULL;
  return &rloo_api;
}
