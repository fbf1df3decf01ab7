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
 * give back the returns. See docs/algorithms.md ("PPO").
 */
#define ALG_NAME "ppo"
#include "../shared/policy_loss.h"
#include "../shared/returns.h"

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

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = CLIP_HIGH_HP,
    [HP_GAMMA] = ALG_HP("gamma", "gamma: discount in delta_t = r_t + gamma V_{t+1} - V_t", 1.0,
                        0.0, 1.0),
    [HP_LAMBDA] = ALG_HP("gae_lambda", "lambda: GAE A_t = sum_l (gamma lambda)^l delta_{t+l}",
                         0.95, 0.0, 1.0),
    [HP_VF_COEF] = ALG_HP("vf_coef", "c_1: weight of the value loss, L = L_pi + c_1 L_V", 0.5, 0.0,
                          100.0),
    [HP_VF_CLIP] = ALG_HP("vf_clip",
                          "value clip: V_clip = V_old + clip(V - V_old, -vf_clip, vf_clip)", 0.2,
                          0.0, 1e6),
    [HP_KL_BETA] = ALG_HP("kl_beta",
                          "beta: weight of the per-token k1 KL reward -beta (logp_old - logp_ref) (0 = none)",
                          0.0, 0.0, 100.0),
    [HP_NORMALIZE] = ALG_HP("normalize_advantages",
                            "1: whiten the GAE advantages over the batch's counted tokens; 0: use them raw",
                            1.0, 0.0, 1.0),
    [HP_ADV_EPS] = ALG_HP("adv_eps", "eps: added to the batch std of the advantages before dividing",
                          1e-8, 0.0, 1.0),
};

/* ---------------------------------------------------------------------------------------- */
/* GAE (shared by compute_advantages and compute_loss)                                      */

/* Checks what GAE reads: rewards, mask, old_values (and behaviour/reference log-probs when
 * kl_beta > 0). */
static rlax_error *check_gae_inputs(const double *hp, const char *fn, const rlax_rollout_batch *b) {
  const double beta = hp[HP_KL_BETA];
  rlax_error *e = alg_require(fn, b->rewards, "rewards");
  if (!e) e = alg_require(fn, b->mask, "mask");
  if (!e && !b->old_values)
    e = alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                  ALG_NAME ": %s: batch.old_values is NULL (GAE needs the value estimates at "
                           "generation time)",
                  fn);
  if (!e) e = alg_require_kl_reward(fn, b, beta);
  if (!e) e = alg_check_mask(fn, b->mask, b->num_sequences, b->num_tokens);
  if (!e) e = alg_check_rewards(fn, b->rewards, b->num_sequences);
  if (!e)
    e = alg_check_finite(fn, "old_values", b->old_values, b->mask, b->num_sequences,
                         b->num_tokens);
  if (!e) e = alg_check_kl_reward(fn, b, beta);
  return e;
}

/* Raw GAE advantages adv[N*T] and returns ret[N*T] (ret may be NULL; 0 on padding). */
static rlax_error *gae_batch(const double *hp, const char *fn, const rlax_rollout_batch *b,
                             double *adv, double *ret) {
  const double beta = hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  double *scratch = malloc((size_t)t * sizeof *scratch); /* one row's token rewards */
  if (!scratch)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d x %d tokens",
                     fn, (int)n, (int)t);
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    token_rewards(b->mask + row, use_kl ? b->behavior_logprobs + row : NULL,
                  use_kl ? b->ref_logprobs + row : NULL, beta, b->rewards[i], t, scratch);
    gae(b->mask + row, scratch, b->old_values + row, hp[HP_GAMMA], hp[HP_LAMBDA], t, adv + row,
        ret ? ret + row : NULL);
  }
  free(scratch);
  return NULL;
}

static rlax_error *out_of_memory(const char *fn, const rlax_rollout_batch *b) {
  return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d x %d tokens",
                   fn, (int)b->num_sequences, (int)b->num_tokens);
}

/* ---------------------------------------------------------------------------------------- */
/* Clipped value loss (as in PPO implementations, e.g. OpenAI baselines ppo2), one token       */

typedef struct {
  double loss;   /* 0.5 max((V - R)^2, (V_clip - R)^2) */
  double dvalue; /* d loss / d V */
  bool clipped;  /* the clipped branch was the max (no gradient) */
} value_term;

static value_term value_clip(double v, double v_old, double ret, double vf_clip) {
  value_term r;
  const double d = v - v_old;
  const double v_clip = v_old + fmin(fmax(d, -vf_clip), vf_clip);
  const double lu = (v - ret) * (v - ret), lc = (v_clip - ret) * (v_clip - ret);
  if (lu >= lc) { /* ties (V inside the clip range) take the unclipped branch */
    r.loss = 0.5 * lu;
    r.dvalue = v - ret;
    r.clipped = false;
  } else {
    r.loss = 0.5 * lc;
    r.dvalue = fabs(d) < vf_clip ? v_clip - ret : 0.0; /* V_clip is constant in V outside */
    r.clipped = true;
  }
  return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages, loss and gradients                                                            */

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  rlax_error *e = alg_check_batch(fn, b, NULL);
  if (!e) e = check_gae_inputs(hp, fn, b);
  if (!e && !advantages)
    e = alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: advantages (output) is NULL", fn);
  if (e) return e;
  const size_t count = (size_t)b->num_sequences * (size_t)b->num_tokens;
  double *adv = malloc(count * sizeof *adv);
  if (!adv) return out_of_memory(fn, b);
  if (!(e = gae_batch(hp, fn, b, adv, NULL))) {
    if (hp[HP_NORMALIZE] != 0.0) whiten(adv, b->mask, count, hp[HP_ADV_EPS]);
    tokens_to_float(adv, b->mask, count, advantages);
  }
  free(adv);
  return e;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  rlax_error *e = alg_check_batch(fn, b, NULL);
  if (!e) e = alg_require(fn, b->mask, "mask");
  if (!e) e = alg_require(fn, b->logprobs, "logprobs");
  if (!e) e = alg_require(fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = alg_require(fn, b->advantages, "advantages");
  if (!e) e = alg_require(fn, b->values, "values");
  if (!e) e = check_gae_inputs(hp, fn, b);
  if (!e) e = alg_check_result(fn, result, ALG_RESULT_VALUES);
  if (e) return e;

  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = alg_check_finite(fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "advantages", b->advantages, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "values", b->values, mask, n, t))) return e;
  const float *ref = b->ref_logprobs; /* for the kl metric even when beta = 0 */
  if (ref && (e = alg_check_finite(fn, "ref_logprobs", ref, mask, n, t))) return e;

  const size_t count = (size_t)n * (size_t)t;
  double *adv = malloc(count * sizeof *adv), *ret = malloc(count * sizeof *ret);
  if (!adv || !ret) e = out_of_memory(fn, b);
  if (!e) e = gae_batch(hp, fn, b, adv, ret); /* the returns R_t, as compute_advantages saw them */
  free(adv);
  if (e) {
    free(ret);
    return e;
  }

  const clipped_policy_stats s =
      token_mean_clipped_policy(b, result->dloss_dlogprobs, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH]);
  const double tokens = s.tokens, w = tokens > 0.0 ? 1.0 / tokens : 0.0;
  const double vf_coef = hp[HP_VF_COEF], vf_clip = hp[HP_VF_CLIP];
  double value_loss = 0.0, v_clipped = 0.0, ret_sum = 0.0, v_sum = 0.0;
  float *gv = result->dloss_dvalues;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      gv[k] = 0.0f;
      continue;
    }
    const value_term v = value_clip(b->values[k], b->old_values[k], ret[k], vf_clip);
    value_loss += w * m * v.loss;
    gv[k] = (float)(vf_coef * w * m * v.dvalue);
    if (v.clipped) v_clipped += m;
    ret_sum += m * ret[k];
    v_sum += m * b->values[k];
  }
  free(ret);

  result->loss = s.loss + vf_coef * value_loss;
  alg_metric(result, "loss_policy", s.loss);
  alg_metric(result, "value_loss", value_loss);
  alg_metric(result, "kl", ref && tokens > 0.0 ? s.kl_sum / tokens : 0.0);
  alg_metric(result, "clip_fraction", tokens > 0.0 ? s.clipped / tokens : 0.0);
  alg_metric(result, "value_clip_fraction", tokens > 0.0 ? v_clipped / tokens : 0.0);
  alg_metric(result, "ratio_mean", tokens > 0.0 ? s.ratio_sum / tokens : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? s.adv_sum / tokens : 0.0);
  alg_metric(result, "return_mean", tokens > 0.0 ? ret_sum / tokens : 0.0);
  alg_metric(result, "value_mean", tokens > 0.0 ? v_sum / tokens : 0.0);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, ALG_SWITCH(HP_NORMALIZE),
    "PPO (Schulman et al. 2017) with a value head: GAE on old values, clipped ratio, clipped "
    "value loss",
    compute_advantages, compute_loss,
    .formula = "r_t = -beta m_t (logp_old_t - ref_t) + [t = last] r_i; "
               "delta_t = r_t + gamma V_old_{t+1} - V_old_t; A_t = sum_l (gamma lambda)^l delta_{t+l}; "
               "R_t = A_t + V_old_t; A' = whiten_B(A); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum|o|) sum m_t [-min(rho_t A'_t, clip(rho_t, 1-eps_low, 1+eps_high) A'_t) "
               "+ c_1 0.5 max((V_t - R_t)^2, (V_old_t + clip(V_t - V_old_t, -c, c) - R_t)^2)]",
    .needs_reference_logprobs = true, /* only when kl_beta > 0; otherwise NULL is accepted */
    .needs_value_head = true, .min_group_size = 1)
