/*
 * reinforce_pp.c — REINFORCE++ as an rlax algorithm plugin (plugin name "reinforce-pp").
 *
 * Hu 2025, "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models"
 * (arXiv 2501.03262): a critic-free PPO in which the KL to the reference is a token reward and
 * the advantage is the return normalised over the whole batch:
 *
 *   r_t   = -beta m_t (logp_old_t - ref_t) + [t = last counted token] r_i   (k1, no gradient)
 *   G_t   = sum_{t' >= t} gamma^(t'-t) r_t'                (over counted tokens)
 *   A_t   = (G_t - mean_B G) / (std_B G + eps)             (mean/std over every counted token
 *                                                           of the batch, weighted by the mask)
 *   rho_t = exp(logp_t - logp_old_t)
 *   L     = (1 / sum_i |o_i|) sum_i sum_t m_t [ -min(rho_t A_t, clip(rho_t, 1-e_low, 1+e_high) A_t) ]
 *
 * |o_i| = sum_t m_t; the loss is a token mean over the whole batch. See
 * docs/algorithms.d/reinforce-pp.md.
 */
#include "../shared/returns.h"

RLAX_DEFINE_ERRORS(rpp)

static const char plugin[] = "reinforce-pp";

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_GAMMA, HP_ADV_EPS, HP_COUNT };

#define HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                       0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = HP("clip_high", "epsilon_high: the ratio is clipped above at 1 + epsilon_high",
                        0.2, 0.0, 10.0),
    [HP_KL_BETA] = HP("kl_beta",
                      "beta: weight of the per-token k1 KL reward -beta (logp_old - logp_ref)",
                      0.01, 0.0, 100.0),
    [HP_GAMMA] = HP("gamma", "gamma: discount of the token return G_t = r_t + gamma G_{t+1}",
                    1.0, 0.0, 1.0),
    [HP_ADV_EPS] = HP("adv_eps", "eps: added to the batch std of the returns before dividing",
                      1e-8, 0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {
    &hp_table[0], &hp_table[1], &hp_table[2], &hp_table[3], &hp_table[4],
};

static const rlax_algorithm_info rpp_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "r_t = -beta m_t (logp_old_t - ref_t) + [t = last] r_i (k1); "
               "G_t = sum_{t' >= t} gamma^(t'-t) r_t'; A_t = (G_t - mean_B G) / (std_B G + eps) "
               "over all counted tokens of the batch; rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum_i |o_i|) sum_i sum_t m_t [-min(rho_t A_t, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_t)]",
    .needs_reference_logprobs = true,
    .needs_value_head = false,
    .min_group_size = 1,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *rpp_info(void) { return &rpp_info_value; }

static rlax_error *rpp_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return rpp_error(RLAX_ERROR_INVALID_ARGUMENT, "reinforce-pp: create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = rr_parse_create_args(plugin, hp_table, HP_COUNT, 0u, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return rpp_error(RLAX_ERROR_OUT_OF_MEMORY, "reinforce-pp: create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void rpp_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *rpp_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return rpp_error(RLAX_ERROR_INVALID_ARGUMENT,
                     "reinforce-pp: get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages                                                                                */

static rlax_error *rpp_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                          float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return rpp_error(RLAX_ERROR_INVALID_ARGUMENT, "reinforce-pp: %s: algorithm is NULL", fn);
  const double beta = alg->hp[HP_KL_BETA], gamma = alg->hp[HP_GAMMA], eps = alg->hp[HP_ADV_EPS];
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (!e) e = rr_require(plugin, fn, b->rewards, "rewards");
  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e && beta > 0.0) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require_ref(plugin, fn, b, beta);
  if (!e && !advantages)
    e = rpp_error(RLAX_ERROR_INVALID_ARGUMENT, "reinforce-pp: %s: advantages (output) is NULL", fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = rr_check_mask(plugin, fn, mask, n, t))) return e;
  if ((e = rr_check_rewards(plugin, fn, b->rewards, n))) return e;
  const bool use_kl = beta > 0.0;
  if (use_kl) {
    if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t)))
      return e;
    if ((e = rr_check_finite(plugin, fn, "ref_logprobs", b->ref_logprobs, mask, n, t))) return e;
  }

  const size_t count = (size_t)n * (size_t)t;
  double *g = malloc(count * sizeof *g);
  if (!g)
    return rpp_error(RLAX_ERROR_OUT_OF_MEMORY, "reinforce-pp: %s: out of memory for %d x %d tokens",
                     fn, (int)n, (int)t);
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    rr_token_rewards(mask + row, use_kl ? b->behavior_logprobs + row : NULL,
                     use_kl ? b->ref_logprobs + row : NULL, beta, b->rewards[i], t, g + row);
    rr_discounted_returns(mask + row, g + row, gamma, t, g + row);
  }
  rr_whiten(g, mask, count, eps, NULL, NULL);
  for (size_t k = 0; k < count; k++) advantages[k] = mask[k] != 0.0f ? (float)g[k] : 0.0f;
  free(g);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loss and gradient                                                                         */

static rlax_error *rpp_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                    rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return rpp_error(RLAX_ERROR_INVALID_ARGUMENT, "reinforce-pp: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (e) return e;
  const double clip_low = alg->hp[HP_CLIP_LOW], clip_high = alg->hp[HP_CLIP_HIGH];

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
  const float *ref = b->ref_logprobs; /* only for the kl metric: the KL is in the advantages */
  if (ref && (e = rr_check_finite(plugin, fn, "ref_logprobs", ref, mask, n, t))) return e;

  const size_t count = (size_t)n * (size_t)t;
  double tokens = 0.0; /* sum_i |o_i| */
  for (size_t k = 0; k < count; k++) tokens += mask[k];
  const double w = tokens > 0.0 ? 1.0 / tokens : 0.0;

  double loss = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0, clipped = 0.0;
  float *grad = result->dloss_dlogprobs;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const double adv = b->advantages[k];
    const rr_clip_term c = rr_ppo_clip(b->logprobs[k], b->behavior_logprobs[k], adv, clip_low, clip_high);
    loss += w * m * c.loss;
    grad[k] = (float)(w * m * c.dlogp);
    if (c.clipped) clipped += m;
    if (ref) kl_sum += m * rr_k1(b->behavior_logprobs[k], ref[k]);
    ratio_sum += m * c.rho;
    adv_sum += m * adv;
  }

  result->loss = loss;
  rr_metric(result, "loss_policy", loss);
  rr_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  rr_metric(result, "clip_fraction", tokens > 0.0 ? clipped / tokens : 0.0);
  rr_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  rr_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_algorithm_api rpp_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = rpp_error_code,
    .error_message = rpp_error_message,
    .error_destroy = rpp_error_destroy,
    .info = rpp_info,
    .create = rpp_create,
    .destroy = rpp_destroy,
    .get_hyperparameters = rpp_get_hyperparameters,
    .compute_advantages = rpp_compute_advantages,
    .compute_loss = rpp_compute_loss,
};

static const rlax_manifest rpp_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "reinforce-pp",
    .version = "0.1.0",
    .description = "REINFORCE++ (Hu 2025): k1 KL token reward, batch-normalised returns, clipped ratio, token mean",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &rpp_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "reinforce-pp")) return NULL;
  return &rpp_api;
}
