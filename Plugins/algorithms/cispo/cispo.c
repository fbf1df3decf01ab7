/*
 * cispo.c — CISPO (Clipped IS-weight Policy Optimization) as an rlax algorithm plugin.
 *
 * MiniMax 2025, "MiniMax-M1: Scaling Test-Time Compute Efficiently with Lightning Attention"
 * (arXiv 2506.13585), section 3.1: instead of dropping the update of a token whose
 * ratio leaves the trust region (PPO/GRPO clipping), clip the importance-sampling weight and
 * stop its gradient, so every token keeps a policy-gradient term:
 *
 *   A_i   = (r_i - mean_G r) / (std_G r + eps)
 *   rho_t = exp(x_t),  x_t = logp_t - logp_old_t
 *   w_t   = clip(rho_t, 1 - eps_low, 1 + eps_high)
 *   J     = (1 / sum_i |o_i|) sum_i sum_t m_t sg(w_t) A_t logp_t
 *   dL/dlogp_t = -(m_t / sum_i |o_i|) w_t A_t        (L = -J; every token gets a gradient)
 *
 * The reported loss is a surrogate whose exact derivative is that gradient (the literal
 * -sg(w) A logp has the right gradient but a value that depends on the absolute log-prob):
 *
 *   L = -(1 / sum_i |o_i|) sum_i sum_t m_t A_t F(x_t),   F'(x) = clip(exp(x), lo, hi):
 *   F(x) = exp(x) = rho                  lo <= rho <= hi       (the IS surrogate)
 *        = hi (1 + x - log hi)           rho > hi              (lo = 1 - eps_low,
 *        = lo (1 + x - log lo)           rho < lo               hi = 1 + eps_high)
 *
 * F is continuous with a continuous derivative, equals 1 on-policy, and where nothing is
 * clipped L is the usual -(1/sum|o|) sum m rho A. With eps_low = 1 (the default) lo = 0 and
 * there is no lower clip, as in the paper. See docs/algorithms.d/cispo.md.
 */
#include "../shared/group_policy.h"

#define PLUGIN "cispo"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_COUNT };

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = GP_HP("clip_low",
                          "epsilon_low^IS: the IS weight is clipped below at 1 - epsilon_low "
                          "(1: no lower bound, as in the paper)",
                          1.0, 0.0, 1.0),
    [HP_CLIP_HIGH] = GP_HP("clip_high",
                           "epsilon_high^IS: the IS weight is clipped above at 1 + epsilon_high",
                           0.28, 0.0, 100.0),
    [HP_ADV_EPS] = GP_HP("adv_eps", "eps: added to the group's reward std before dividing", 1e-6,
                         0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {&hp_table[0], &hp_table[1],
                                                             &hp_table[2]};

static const rlax_algorithm_info cispo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps); rho_t = exp(logp_t - logp_old_t); "
               "J = (1/sum_i |o_i|) sum_i sum_t m_t sg(clip(rho_t, 1-eps_low, 1+eps_high)) A_i "
               "logp_t; dL/dlogp_t = -m_t clip(rho_t) A_i / sum_i |o_i| (L = -J)",
    .needs_reference_logprobs = false,
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *cispo_info(void) { return &cispo_info_value; }

static rlax_error *cispo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
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

static void cispo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *cispo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    PLUGIN ": get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

static rlax_error *cispo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
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

/* F(x) with F'(x) = clip(exp(x), lo, hi) (see the header comment); *weight = F'(x). */
static double cispo_surrogate(double x, double lo, double hi, double *weight, bool *clipped) {
  const double rho = exp(x);
  if (rho > hi) {
    *weight = hi;
    *clipped = true;
    return hi * (1.0 + x - log(hi));
  }
  if (rho < lo) { /* never when lo = 0 */
    *weight = lo;
    *clipped = true;
    return lo * (1.0 + x - log(lo));
  }
  *weight = rho;
  *clipped = false;
  return rho;
}

static rlax_error *cispo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                      rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, PLUGIN ": %s: algorithm is NULL", fn);
  rlax_error *e = gp_check_loss_inputs(PLUGIN, fn, b, result, 0.0, false, NULL);
  if (e) return e;
  const double lo = 1.0 - alg->hp[HP_CLIP_LOW], hi = 1.0 + alg->hp[HP_CLIP_HIGH];
  const size_t count = (size_t)b->num_sequences * (size_t)b->num_tokens;
  const float *mask = b->mask;
  float *grad = result->dloss_dlogprobs;
  const double total = gp_mask_total(b); /* sum_i |o_i|: token-level aggregation */
  const double w = total > 0.0 ? 1.0 / total : 0.0;

  double policy_sum = 0.0, clipped_sum = 0.0, ratio_sum = 0.0, weight_sum = 0.0, adv_sum = 0.0;
  for (size_t k = 0; k < count; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const double x = (double)b->logprobs[k] - (double)b->behavior_logprobs[k];
    const double adv = b->advantages[k];
    double weight;
    bool clipped;
    const double f = cispo_surrogate(x, lo, hi, &weight, &clipped);
    policy_sum += m * -adv * f;
    grad[k] = (float)(-w * m * weight * adv);
    clipped_sum += clipped ? m : 0.0;
    ratio_sum += m * exp(x);
    weight_sum += m * weight;
    adv_sum += m * adv;
  }

  result->loss = w * policy_sum;
  gp_metric(result, "loss_policy", result->loss);
  /* Tokens whose IS weight was truncated; unlike PPO clipping they keep their gradient. */
  gp_metric(result, "clip_fraction", total > 0.0 ? clipped_sum / total : 0.0);
  gp_metric(result, "ratio_mean", total > 0.0 ? ratio_sum / total : 0.0);
  gp_metric(result, "is_weight_mean", total > 0.0 ? weight_sum / total : 0.0);
  gp_metric(result, "advantage_mean", total > 0.0 ? adv_sum / total : 0.0);
  return NULL;
}

static const rlax_algorithm_api cispo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = gp_error_code,
    .error_message = gp_error_message,
    .error_destroy = gp_error_destroy,
    .info = cispo_info,
    .create = cispo_create,
    .destroy = cispo_destroy,
    .get_hyperparameters = cispo_get_hyperparameters,
    .compute_advantages = cispo_compute_advantages,
    .compute_loss = cispo_compute_loss,
};

static const rlax_manifest cispo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = PLUGIN,
    .version = "0.1.0",
    .description = "CISPO (MiniMax-M1): clipped, stop-gradient IS weight on every token's "
                   "policy gradient, token-level mean",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &cispo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, PLUGIN)) return NULL;
  return &cispo_api;
}
