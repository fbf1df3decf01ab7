/*
 * ppo.c — Proximal Policy Optimization with a value head and GAE as an rlax algorithm plugin.
 *
 * Schulman et al. 2017, "Proximal Policy Optimization Algorithms" (arXiv 1707.06347), eq. 7
 * (clipped surrogate) and eq. 9 (policy + value loss); GAE from Schulman et al. 2016,
 * "High-Dimensional Continuous Control Using Generalized Advantage Estimation"
 * (arXiv 1506.02438); the clipped value loss as in OpenAI baselines' ppo2 (and the
 * RLHF PPO of Ouyang et al. 2022 / Huang et al. 2024, "The N+ Implementation Details of RLHF
 * with PPO"):
 *
 *   r_t     = -beta m_t (logp_old_t - ref_t) + [t = last counted token] r_i   (k1, beta = 0 default)
 *   delta_t = r_t + gamma V_{t+1} - V_t        V = old_values (at generation time), V past the end = 0
 *   A_t     = sum_l (gamma lambda)^l delta_{t+l};  R_t = A_t + V_t
 *   A'_t    = (A_t - mean_B A) / (std_B A + eps)        (normalize_advantages = 1)
 *   L_pi    = (1 / sum|o|) sum_{i,t} m_t [-min(rho_t A'_t, clip(rho_t, 1-e_low, 1+e_high) A'_t)]
 *   L_V     = 0.5 (1 / sum|o|) sum_{i,t} m_t max((V_t - R_t)^2, (Vc_t - R_t)^2),
 *             Vc_t = V_old_t + clip(V_t - V_old_t, -vf_clip, vf_clip)
 *   L       = L_pi + vf_coef L_V
 *
 * compute_loss takes A' from batch->advantages and recomputes R from the rewards, the old
 * values (and the KL reward) exactly as compute_advantages did: whitened advantages cannot
 * give back the returns. See docs/algorithms.d/ppo.md.
 */
#include "../shared/returns.h"

RLAX_DEFINE_ERRORS(ppo)

static const char plugin[] = "ppo";

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

enum {
  HP_CLIP_LOW,
  HP_CLIP_HIGH,
  HP_GAMMA,
  HP_LAMBDA,
  HP_VF_COEF,
  HP_VF_CLIP,
  HP_KL_BETA,
  HP_NORMALIZE,
  HP_ADV_EPS,
  HP_COUNT
};

#define HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                       0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = HP("clip_high", "epsilon_high: the ratio is clipped above at 1 + epsilon_high",
                        0.2, 0.0, 10.0),
    [HP_GAMMA] = HP("gamma", "gamma: discount in delta_t = r_t + gamma V_{t+1} - V_t", 1.0, 0.0, 1.0),
    [HP_LAMBDA] = HP("gae_lambda", "lambda: GAE A_t = sum_l (gamma lambda)^l delta_{t+l}", 0.95,
                     0.0, 1.0),
    [HP_VF_COEF] = HP("vf_coef", "c_1: weight of the value loss, L = L_pi + c_1 L_V", 0.5, 0.0, 100.0),
    [HP_VF_CLIP] = HP("vf_clip",
                      "value clip: V_clip = V_old + clip(V - V_old, -vf_clip, vf_clip)", 0.2, 0.0,
                      1e6),
    [HP_KL_BETA] = HP("kl_beta",
                      "beta: weight of the per-token k1 KL reward -beta (logp_old - logp_ref) (0 = none)",
                      0.0, 0.0, 100.0),
    [HP_NORMALIZE] = HP("normalize_advantages",
                        "1: whiten the GAE advantages over the batch's counted tokens; 0: use them raw",
                        1.0, 0.0, 1.0),
    [HP_ADV_EPS] = HP("adv_eps", "eps: added to the batch std of the advantages before dividing",
                      1e-8, 0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {
    &hp_table[0], &hp_table[1], &hp_table[2], &hp_table[3], &hp_table[4],
    &hp_table[5], &hp_table[6], &hp_table[7], &hp_table[8],
};

static const rlax_algorithm_info ppo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "r_t = -beta m_t (logp_old_t - ref_t) + [t = last] r_i; "
               "delta_t = r_t + gamma V_old_{t+1} - V_old_t; A_t = sum_l (gamma lambda)^l delta_{t+l}; "
               "R_t = A_t + V_old_t; A' = whiten_B(A); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum|o|) sum m_t [-min(rho_t A'_t, clip(rho_t, 1-eps_low, 1+eps_high) A'_t) "
               "+ c_1 0.5 max((V_t - R_t)^2, (V_old_t + clip(V_t - V_old_t, -c, c) - R_t)^2)]",
    .needs_reference_logprobs = true, /* only when kl_beta > 0; otherwise NULL is accepted */
    .needs_value_head = true,
    .min_group_size = 1,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *ppo_info(void) { return &ppo_info_value; }

static rlax_error *ppo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return ppo_error(RLAX_ERROR_INVALID_ARGUMENT, "ppo: create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  rlax_error *e = rr_parse_create_args(plugin, hp_table, HP_COUNT, 1u << HP_NORMALIZE, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return ppo_error(RLAX_ERROR_OUT_OF_MEMORY, "ppo: create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void ppo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *ppo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return ppo_error(RLAX_ERROR_INVALID_ARGUMENT, "ppo: get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* GAE (shared by compute_advantages and compute_loss)                                      */

/* Checks what GAE reads: rewards, mask, old_values (and behaviour/reference log-probs when
 * kl_beta > 0). */
static rlax_error *check_gae_inputs(const rlax_algorithm *alg, const char *fn,
                                    const rlax_rollout_batch *b) {
  const double beta = alg->hp[HP_KL_BETA];
  rlax_error *e = rr_require(plugin, fn, b->rewards, "rewards");
  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e && !b->old_values)
    e = ppo_error(RLAX_ERROR_INVALID_ARGUMENT,
                  "ppo: %s: batch.old_values is NULL (GAE needs the value estimates at generation time)",
                  fn);
  if (!e && beta > 0.0) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require_ref(plugin, fn, b, beta);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  if ((e = rr_check_mask(plugin, fn, b->mask, n, t))) return e;
  if ((e = rr_check_rewards(plugin, fn, b->rewards, n))) return e;
  if ((e = rr_check_finite(plugin, fn, "old_values", b->old_values, b->mask, n, t))) return e;
  if (beta > 0.0) {
    if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, b->mask, n, t)))
      return e;
    if ((e = rr_check_finite(plugin, fn, "ref_logprobs", b->ref_logprobs, b->mask, n, t))) return e;
  }
  return NULL;
}

/* Raw GAE advantages adv[N*T] and returns ret[N*T] (0 on padding); scratch holds T doubles. */
static void gae_batch(const rlax_algorithm *alg, const rlax_rollout_batch *b, double *adv,
                      double *ret, double *scratch) {
  const double beta = alg->hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    rr_token_rewards(b->mask + row, use_kl ? b->behavior_logprobs + row : NULL,
                     use_kl ? b->ref_logprobs + row : NULL, beta, b->rewards[i], t, scratch);
    rr_gae(b->mask + row, scratch, b->old_values + row, alg->hp[HP_GAMMA], alg->hp[HP_LAMBDA], t,
           adv + row, ret ? ret + row : NULL);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages                                                                                */

static rlax_error *ppo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                          float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return ppo_error(RLAX_ERROR_INVALID_ARGUMENT, "ppo: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (!e) e = check_gae_inputs(alg, fn, b);
  if (!e && !advantages)
    e = ppo_error(RLAX_ERROR_INVALID_ARGUMENT, "ppo: %s: advantages (output) is NULL", fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const size_t count = (size_t)n * (size_t)t;
  double *adv = malloc(count * sizeof *adv), *scratch = malloc((size_t)t * sizeof *scratch);
  if (!adv || !scratch) {
    free(adv);
    free(scratch);
    return ppo_error(RLAX_ERROR_OUT_OF_MEMORY, "ppo: %s: out of memory for %d x %d tokens", fn,
                     (int)n, (int)t);
  }
  gae_batch(alg, b, adv, NULL, scratch);
  if (alg->hp[HP_NORMALIZE] != 0.0) rr_whiten(adv, b->mask, count, alg->hp[HP_ADV_EPS], NULL, NULL);
  for (size_t k = 0; k < count; k++) advantages[k] = b->mask[k] != 0.0f ? (float)adv[k] : 0.0f;
  free(adv);
  free(scratch);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loss and gradients                                                                        */

static rlax_error *ppo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                    rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return ppo_error(RLAX_ERROR_INVALID_ARGUMENT, "ppo: %s: algorithm is NULL", fn);
  rlax_error *e = rr_check_batch_shape(plugin, fn, b);
  if (e) return e;
  const double clip_low = alg->hp[HP_CLIP_LOW], clip_high = alg->hp[HP_CLIP_HIGH];
  const double vf_coef = alg->hp[HP_VF_COEF], vf_clip = alg->hp[HP_VF_CLIP];

  if (!e) e = rr_require(plugin, fn, b->mask, "mask");
  if (!e) e = rr_require(plugin, fn, b->logprobs, "logprobs");
  if (!e) e = rr_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = rr_require(plugin, fn, b->advantages, "advantages");
  if (!e) e = rr_require(plugin, fn, b->values, "values");
  if (!e) e = check_gae_inputs(alg, fn, b);
  if (!e) e = rr_check_result(plugin, fn, result, true);
  if (e) return e;

  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = rr_check_finite(plugin, fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "advantages", b->advantages, mask, n, t))) return e;
  if ((e = rr_check_finite(plugin, fn, "values", b->values, mask, n, t))) return e;
  const float *ref = b->ref_logprobs; /* for the kl metric even when beta = 0 */
  if (ref && (e = rr_check_finite(plugin, fn, "ref_logprobs", ref, mask, n, t))) return e;

  const size_t count = (size_t)n * (size_t)t;
  double *adv = malloc(count * sizeof *adv), *ret = malloc(count * sizeof *ret);
  double *scratch = malloc((size_t)t * sizeof *scratch);
  if (!adv || !ret || !scratch) {
    free(adv);
    free(ret);
    free(scratch);
    return ppo_error(RLAX_ERROR_OUT_OF_MEMORY, "ppo: %s: out of memory for %d x %d tokens", fn,
                     (int)n, (int)t);
  }
  gae_batch(alg, b, adv, ret, scratch); /* the returns R_t, as compute_advantages saw them */

  double tokens = 0.0; /* sum_i |o_i| */
  for (size_t k = 0; k < count; k++) tokens += mask[k];
  const double w = tokens > 0.0 ? 1.0 / tokens : 0.0;

  double loss_policy = 0.0, value_loss = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0;
  double clipped = 0.0, v_clipped = 0.0, ret_sum = 0.0, v_sum = 0.0;
  float *grad = result->dloss_dlogprobs, *gv = result->dloss_dvalues;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      gv[k] = 0.0f;
      continue;
    }
    const double a = b->advantages[k];
    const rr_clip_term c = rr_ppo_clip(b->logprobs[k], b->behavior_logprobs[k], a, clip_low, clip_high);
    loss_policy += w * m * c.loss;
    grad[k] = (float)(w * m * c.dlogp);
    if (c.clipped) clipped += m;

    const rr_value_term v = rr_value_clip(b->values[k], b->old_values[k], ret[k], vf_clip);
    value_loss += w * m * v.loss;
    gv[k] = (float)(vf_coef * w * m * v.dvalue);
    if (v.clipped) v_clipped += m;

    if (ref) kl_sum += m * rr_k1(b->behavior_logprobs[k], ref[k]);
    ratio_sum += m * c.rho;
    adv_sum += m * a;
    ret_sum += m * ret[k];
    v_sum += m * b->values[k];
  }
  free(adv);
  free(ret);
  free(scratch);

  result->loss = loss_policy + vf_coef * value_loss;
  rr_metric(result, "loss_policy", loss_policy);
  rr_metric(result, "value_loss", value_loss);
  rr_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  rr_metric(result, "clip_fraction", tokens > 0.0 ? clipped / tokens : 0.0);
  rr_metric(result, "value_clip_fraction", tokens > 0.0 ? v_clipped / tokens : 0.0);
  rr_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  rr_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  rr_metric(result, "return_mean", tokens > 0.0 ? ret_sum / tokens : 0.0);
  rr_metric(result, "value_mean", tokens > 0.0 ? v_sum / tokens : 0.0);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_algorithm_api ppo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = ppo_error_code,
    .error_message = ppo_error_message,
    .error_destroy = ppo_error_destroy,
    .info = ppo_info,
    .create = ppo_create,
    .destroy = ppo_destroy,
    .get_hyperparameters = ppo_get_hyperparameters,
    .compute_advantages = ppo_compute_advantages,
    .compute_loss = ppo_compute_loss,
};

static const rlax_manifest ppo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "ppo",
    .version = "0.1.0",
    .description = "PPO (Schulman et al. 2017) with a value head: GAE on old values, clipped ratio, clipped value loss",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &ppo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "ppo")) return NULL;
  return &ppo_api;
}
