/*
 * mdloo.c — Mirror Descent with Leave-One-Out estimation (MDLOO) as an rlax algorithm plugin.
 *
 * Apple, "Apple Intelligence Foundation Language Models" (arXiv 2407.21075, 2024), the RLHF
 * part of post-training (online RLHF algorithm MDLOO): K responses per prompt, a KL-shaped
 * sequence reward, a leave-one-out advantage, and a Mirror Descent Policy Optimization update
 * (Tomar et al. 2020, arXiv 2005.09814) — a KL regulariser to the previous policy instead of
 * PPO's clip:
 *
 *   R_i   = r_i - beta sum_t m_t (logp_old_t - ref_t)           (k1 on the sample, no gradient)
 *   A_i   = R_i - (1/(G-1)) sum_{j != i, j in G} R_j             (a group of one row: A_i = 0)
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(logp_old_t - logp_t) - (logp_old_t - logp_t) - 1  (k3 to the previous policy)
 *   L     = (1/N) sum_i (1/|o_i|) sum_t m_t [ -rho_t A_i + eta KL_t ]
 *
 * N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no counted
 * token contributes 0 (it still counts in N). KL_t is the k3 form with x = logp_old - logp, as
 * GRPO uses for its reference term: unbiased for KL(pi_theta || pi_old) (MDPO's direction) on
 * samples of pi_theta; on samples of pi_old it equals either direction to second order in
 * log rho. It is >= 0, 0 at rho = 1, and dKL_t/dlogp = 1 - 1/rho. See docs/algorithms.d/mdloo.md.
 */
#include "../shared/returns.h"

RLAX_DEFINE_ERRORS(mdloo)

static const char plugin[] = "mdloo";

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

enum { HP_KL_BETA, HP_MD_ETA, HP_COUNT };

#define HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_KL_BETA] = HP("kl_beta",
                      "beta: R_i = r_i - beta sum_t (logp_old_t - logp_ref_t), the KL-shaped reward",
                      0.05, 0.0, 100.0),
    [HP_MD_ETA] = HP("md_eta",
                     "eta = 1/t_k: weight of the mirror-descent KL regulariser to pi_old, k3 of (logp_old - logp)",
                     0.1, 0.0, 100.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {&hp_table[0], &hp_table[1]};

static const rlax_algorithm_info mdloo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "R_i = r_i - beta sum_t m_t (logp_old_t - ref_t); "
               "A_i = R_i - (1/(G-1)) sum_{j != i in G} R_j (leave-one-out); "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-rho_t A_i + eta KL_t], "
               "KL_t = exp(logp_old_t - logp_t) - (logp_old_t - logp_t) - 1 (k3, mirror descent)",
    .needs_reference_logprobs = true, /* NULL is accepted only with kl_beta = 0 */
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *mdloo_info(void) { return &mdloo_info_value; }

static rlax_error *mdloo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return mdloo_error(RLAX_ERROR_INVALID_ARGUMENT, "mdloo: create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = rr_parse_create_args(plugin, hp_table, HP_COUNT, 0u, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return mdloo_error(RLAX_ERROR_OUT_OF_MEMORY, "mdloo: create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void mdloo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *mdloo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return mdloo_error(RLAX_ERROR_INVALID_ARGUMENT, "mdloo: get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages                                                                                */

static rlax_error *mdloo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                            float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return mdloo_error(RLAX_ERROR_INVALID_ARGUMENT, "mdloo: %s: algorithm is NULL", fn);
  const double beta = alg->hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (!e) e = rr_require(plugin, fn, b->group_ids, "group_ids");
  if (!e) e = rr_require(plugin, fn, b->rewards, "rewards");
  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e && use_kl) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require_ref(plugin, fn, b, beta);
  if (!e && !advantages)
    e = mdloo_error(RLAX_ERROR_INVALID_ARGUMENT, "mdloo: %s: advantages (output) is NULL", fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = rr_check_mask(plugin, fn, mask, n, t))) return e;
  if ((e = rr_check_rewards(plugin, fn, b->rewards, n))) return e;
  if (use_kl) {
    if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t)))
      return e;
    if ((e = rr_check_finite(plugin, fn, "ref_logprobs", b->ref_logprobs, mask, n, t))) return e;
  }

  double *shaped = malloc((size_t)n * sizeof *shaped), *row_adv = malloc((size_t)n * sizeof *row_adv);
  if (!shaped || !row_adv) {
    free(shaped);
    free(row_adv);
    return mdloo_error(RLAX_ERROR_OUT_OF_MEMORY, "mdloo: %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    double kl = 0.0; /* sum_t m_t (logp_old_t - ref_t): the sample's log pi_old(y)/pi_ref(y) */
    if (use_kl)
      for (int32_t j = 0; j < t; j++)
        if (mask[row + (size_t)j] != 0.0f)
          kl += mask[row + (size_t)j] *
                rr_k1(b->behavior_logprobs[row + (size_t)j], b->ref_logprobs[row + (size_t)j]);
    shaped[i] = (double)b->rewards[i] - beta * kl;
  }
  if (!rr_leave_one_out(n, b->group_ids, shaped, row_adv)) {
    free(shaped);
    free(row_adv);
    return mdloo_error(RLAX_ERROR_OUT_OF_MEMORY, "mdloo: %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      advantages[k] = mask[k] != 0.0f ? (float)row_adv[i] : 0.0f;
    }
  free(shaped);
  free(row_adv);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loss and gradient                                                                         */

static rlax_error *mdloo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                      rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return mdloo_error(RLAX_ERROR_INVALID_ARGUMENT, "mdloo: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (e) return e;
  const double eta = alg->hp[HP_MD_ETA];

  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e) e = rr_require(plugin, fn, b->logprobs, "logprobs");
  if (!e) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require(plugin, fn, b->advantages, "advantages");
  if (!e) e = rr_check_result(plugin, fn, result, false);
  if (e) return e;

  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = rr_check_mask(plugin, fn, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "advantages", b->advantages, mask, n, t))) return e;
  const float *ref = b->ref_logprobs; /* only for the kl metric: the reference KL is in A */
  if (ref && (e = rr_check_finite(plugin, fn, "ref_logprobs", ref, mask, n, t))) return e;

  double loss = 0.0, loss_policy = 0.0, md_kl = 0.0;
  double tokens = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0;
  float *grad = result->dloss_dlogprobs;

  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    const double len = rr_row_length(mask + row, t); /* |o_i| */
    if (len == 0.0) {
      for (int32_t j = 0; j < t; j++) grad[row + (size_t)j] = 0.0f;
      continue;
    }
    const double w = 1.0 / ((double)n * len); /* this row's share of the mean */
    double row_policy = 0.0, row_md = 0.0;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      const double m = mask[k];
      if (m == 0.0) {
        grad[k] = 0.0f;
        continue;
      }
      const double logp = b->logprobs[k], old = b->behavior_logprobs[k], adv = b->advantages[k];
      const double rho = exp(logp - old);
      /* k3 with x = logp_old - logp: KL_t = exp(x) - x - 1 = 1/rho + log rho - 1,
       * dKL_t/dlogp = 1 - 1/rho. */
      const double kl = rr_k3(logp, old);
      row_policy += m * -rho * adv;
      row_md += m * kl;
      grad[k] = (float)(w * m * (-rho * adv + eta * (1.0 - 1.0 / rho)));
      if (ref) kl_sum += m * rr_k1(old, ref[k]);
      tokens += m;
      ratio_sum += m * rho;
      adv_sum += m * adv;
    }
    loss_policy += w * row_policy;
    md_kl += w * row_md;
    loss += w * (row_policy + eta * row_md);
  }

  result->loss = loss;
  rr_metric(result, "loss_policy", loss_policy);
  rr_metric(result, "md_kl", md_kl);
  rr_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  rr_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  rr_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_algorithm_api mdloo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = mdloo_error_code,
    .error_message = mdloo_error_message,
    .error_destroy = mdloo_error_destroy,
    .info = mdloo_info,
    .create = mdloo_create,
    .destroy = mdloo_destroy,
    .get_hyperparameters = mdloo_get_hyperparameters,
    .compute_advantages = mdloo_compute_advantages,
    .compute_loss = mdloo_compute_loss,
};

static const rlax_manifest mdloo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "mdloo",
    .version = "0.1.0",
    .description = "MDLOO (Apple AFM 2024): leave-one-out advantage on a KL-shaped reward, mirror-descent KL to the previous policy",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &mdloo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "mdloo")) return NULL;
  return &mdloo_api;
}
