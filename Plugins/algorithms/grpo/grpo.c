/*
 * grpo.c — Group Relative Policy Optimization as an rlax algorithm plugin.
 *
 * Shao et al. 2024, "DeepSeekMath: Pushing the Limits of Mathematical Reasoning in Open
 * Language Models" (arXiv 2402.03300), section 4.1 (outcome supervision), with the k3 KL
 * estimator of Schulman's "Approximating KL divergence" as used by DeepSeek-R1
 * (arXiv 2501.12948):
 *
 *   A_i   = (r_i - mean_G r) / (std_G r + eps)    std_G: population std of the group's rewards
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(ref_t - logp_t) - (ref_t - logp_t) - 1
 *   L     = (1/N) sum_i (1/|o_i|) sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i)
 *                                             + beta KL_t ]
 *
 * N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no counted
 * token contributes 0 (it still counts in N). See docs/algorithms.md.
 */
#include <rlax/algorithm.h>
#include <rlax/plugin_support.h>

#include <math.h>

RLAX_DEFINE_ERRORS(grpo)

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_ADV_EPS, HP_STD_NORMALIZE, HP_COUNT };

#define HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

static const rlax_hyperparameter hp_table[HP_COUNT] = {
    [HP_CLIP_LOW] = HP("clip_low", "epsilon_low: the ratio is clipped below at 1 - epsilon_low",
                       0.2, 0.0, 1.0),
    [HP_CLIP_HIGH] = HP("clip_high", "epsilon_high: the ratio is clipped above at 1 + epsilon_high",
                        0.2, 0.0, 10.0),
    [HP_KL_BETA] = HP("kl_beta", "beta: weight of the k3 KL penalty to the reference policy",
                      0.04, 0.0, 100.0),
    [HP_ADV_EPS] = HP("adv_eps", "eps: added to the group's reward std before dividing",
                      1e-6, 0.0, 1.0),
    [HP_STD_NORMALIZE] = HP("std_normalize",
                            "1: A_i = (r_i - mean) / (std + eps); 0: A_i = r_i - mean (Dr. GRPO)",
                            1.0, 0.0, 1.0),
};

static const rlax_hyperparameter *const hp_list[HP_COUNT] = {
    &hp_table[0], &hp_table[1], &hp_table[2], &hp_table[3], &hp_table[4],
};

static const rlax_algorithm_info grpo_info_value = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = (r_i - mean_G r) / (std_G r + eps), std_G the population std of the group; "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i) + beta KL_t], KL_t = exp(ref_t - logp_t) - (ref_t - logp_t) - 1 (k3)",
    .needs_reference_logprobs = true,
    .needs_value_head = false,
    .min_group_size = 2,
    .num_hyperparameters = HP_COUNT,
    .hyperparameters = hp_list,
};

struct rlax_algorithm {
  double hp[HP_COUNT];
};

static const rlax_algorithm_info *grpo_info(void) { return &grpo_info_value; }

/* Parses one --algo-opt value into *out: the whole string must be a finite number. */
static rlax_error *parse_option(const char *key, const char *value, double *values) {
  int index = -1;
  for (int i = 0; i < HP_COUNT; i++)
    if (key && strcmp(key, hp_table[i].name) == 0) index = i;
  if (index < 0)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "grpo: unknown option '%s' (known: clip_low, clip_high, kl_beta, adv_eps, "
                      "std_normalize)",
                      key ? key : "(null)");
  if (!value || !*value)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: option %s has an empty value, expected a number",
                      key);
  char *end = NULL;
  double v = strtod(value, &end);
  if (end == value || *end != '\0')
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: option %s=%s is not a number", key, value);
  const rlax_hyperparameter *h = &hp_table[index];
  if (!(v >= h->min_value && v <= h->max_value)) /* also refuses NaN */
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: option %s=%s is out of range [%g, %g]", key,
                      value, h->min_value, h->max_value);
  if (index == HP_STD_NORMALIZE && v != 0.0 && v != 1.0)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: option %s=%s must be 0 or 1", key, value);
  values[index] = v;
  return NULL;
}

static rlax_error *grpo_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: create: out is NULL");
  *out = NULL;
  double values[HP_COUNT];
  for (int i = 0; i < HP_COUNT; i++) values[i] = hp_table[i].default_value;
  if (args) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_algorithm_create_args, args->struct_size, num_options))
      return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "grpo: create: args.struct_size is %zu, too small for num_options",
                        args->struct_size);
    if (args->num_options > 0 && (!args->option_keys || !args->option_values))
      return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "grpo: create: %zu options but option_keys or option_values is NULL",
                        args->num_options);
    for (size_t i = 0; i < args->num_options; i++) {
      rlax_error *e = parse_option(args->option_keys[i], args->option_values[i], values);
      if (e) return e;
    }
  }
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return grpo_error(RLAX_ERROR_OUT_OF_MEMORY, "grpo: create: out of memory");
  memcpy(a->hp, values, sizeof values);
  *out = a;
  return NULL;
}

static void grpo_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *grpo_get_hyperparameters(rlax_algorithm *a, double *values) {
  if (!a || !values)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, sizeof a->hp);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Batch validation                                                                          */

static rlax_error *check_batch_shape(const char *fn, const rlax_rollout_batch *b) {
  if (!b) return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: batch is NULL", fn);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, advantages))
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "grpo: %s: batch.struct_size is %zu, expected at least %zu", fn,
                      b->struct_size,
                      offsetof(rlax_rollout_batch, advantages) + sizeof(b->advantages));
  if (b->num_sequences < 1)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: num_sequences is %d, expected >= 1",
                      fn, (int)b->num_sequences);
  if (b->num_tokens < 1)
    return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: num_tokens is %d, expected >= 1", fn,
                      (int)b->num_tokens);
  return NULL;
}

static rlax_error *require(const char *fn, const void *p, const char *name) {
  if (p) return NULL;
  return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: batch.%s is NULL", fn, name);
}

/* The mask must be finite and >= 0 everywhere (it weighs tokens; 0 = padding). */
static rlax_error *check_mask(const char *fn, const float *mask, int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      float m = mask[(size_t)i * (size_t)t + (size_t)j];
      if (!(isfinite(m) && m >= 0.0f))
        return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                          "grpo: %s: mask[%d, %d] is %g, expected a finite value >= 0", fn,
                          (int)i, (int)j, (double)m);
    }
  return NULL;
}

/* Values of `a` must be finite where the mask counts the token. */
static rlax_error *check_finite(const char *fn, const char *name, const float *a, const float *mask,
                                int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      if (mask[k] != 0.0f && !isfinite(a[k]))
        return grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                          "grpo: %s: %s[%d, %d] (row %d, token %d) is %g, expected a finite value",
                          fn, name, (int)i, (int)j, (int)i, (int)j, (double)a[k]);
    }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Advantages                                                                                */

typedef struct {
  int32_t group;
  int32_t row;
} group_row;

static int compare_group_row(const void *pa, const void *pb) {
  const group_row *a = pa, *b = pb;
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

static rlax_error *grpo_compute_advantages(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                           float *advantages) {
  static const char fn[] = "compute_advantages";
  if (!alg) return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: algorithm is NULL", fn);
  rlax_error *e = check_batch_shape(fn, b);
  if (!e) e = require(fn, b->group_ids, "group_ids");
  if (!e) e = require(fn, b->rewards, "rewards");
  if (!e) e = require(fn, b->mask, "mask");
  if (!e && !advantages)
    e = grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: advantages (output) is NULL", fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  if ((e = check_mask(fn, b->mask, n, t))) return e;
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(b->rewards[i]))
      return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: rewards[%d] is %g, expected a finite value",
                        fn, (int)i, (double)b->rewards[i]);

  const double eps = alg->hp[HP_ADV_EPS];
  const bool normalize = alg->hp[HP_STD_NORMALIZE] != 0.0;

  /* Rows sorted by group id; groups need not be contiguous in the batch. */
  group_row *order = malloc((size_t)n * sizeof *order);
  double *row_adv = malloc((size_t)n * sizeof *row_adv);
  if (!order || !row_adv) {
    free(order);
    free(row_adv);
    return grpo_error(RLAX_ERROR_OUT_OF_MEMORY, "grpo: %s: out of memory for %d rows", fn, (int)n);
  }
  for (int32_t i = 0; i < n; i++) order[i] = (group_row){b->group_ids[i], i};
  qsort(order, (size_t)n, sizeof *order, compare_group_row);

  for (int32_t start = 0; start < n;) {
    int32_t end = start + 1;
    while (end < n && order[end].group == order[start].group) end++;
    const int32_t size = end - start;
    if (size == 1) {
      row_adv[order[start].row] = 0.0; /* a lone sample has no group to compare with */
    } else {
      double mean = 0.0;
      for (int32_t k = start; k < end; k++) mean += b->rewards[order[k].row];
      mean /= size;
      double var = 0.0; /* population variance: divide by G, not G - 1 */
      for (int32_t k = start; k < end; k++) {
        double d = b->rewards[order[k].row] - mean;
        var += d * d;
      }
      var /= size;
      const double scale = normalize ? 1.0 / (sqrt(var) + eps) : 1.0;
      for (int32_t k = start; k < end; k++) {
        double a = (b->rewards[order[k].row] - mean);
        /* All-equal rewards with eps = 0: 0 / 0; the advantage is 0. */
        row_adv[order[k].row] = a == 0.0 ? 0.0 : a * scale;
      }
    }
    start = end;
  }

  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      advantages[k] = b->mask[k] != 0.0f ? (float)row_adv[i] : 0.0f;
    }
  free(order);
  free(row_adv);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Loss and gradient                                                                         */

static rlax_error *grpo_compute_loss(rlax_algorithm *alg, const rlax_rollout_batch *b,
                                     rlax_loss_result *result) {
  static const char fn[] = "compute_loss";
  if (!alg) return grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: algorithm is NULL", fn);
  rlax_error *e = check_batch_shape(fn, b);
  if (e) return e;
  const double clip_low = alg->hp[HP_CLIP_LOW], clip_high = alg->hp[HP_CLIP_HIGH];
  const double beta = alg->hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;

  if (!e) e = require(fn, b->mask, "mask");
  if (!e) e = require(fn, b->logprobs, "logprobs");
  if (!e) e = require(fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = require(fn, b->advantages, "advantages");
  if (!e && use_kl && !b->ref_logprobs)
    e = grpo_error(RLAX_ERROR_INVALID_ARGUMENT,
                   "grpo: %s: batch.ref_logprobs is NULL but kl_beta is %g (pass the reference "
                   "log-probs, or set kl_beta=0)",
                   fn, beta);
  if (!e && !result) e = grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: result is NULL", fn);
  if (!e && !RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, dloss_dlogprobs))
    e = grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: result.struct_size is %zu, too small",
                   fn, result->struct_size);
  if (!e && !result->dloss_dlogprobs)
    e = grpo_error(RLAX_ERROR_INVALID_ARGUMENT, "grpo: %s: result.dloss_dlogprobs is NULL", fn);
  if (e) return e;

  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = check_mask(fn, mask, n, t))) return e;
  if ((e = check_finite(fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = check_finite(fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = check_finite(fn, "advantages", b->advantages, mask, n, t))) return e;
  const float *ref = b->ref_logprobs; /* used for the kl metric even when beta = 0 */
  if (ref && (e = check_finite(fn, "ref_logprobs", ref, mask, n, t))) return e;

  double loss = 0.0, loss_policy = 0.0;
  double tokens = 0.0 /* sum of the mask */, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0;
  double clipped = 0.0;
  float *grad = result->dloss_dlogprobs;

  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    double len = 0.0; /* |o_i| */
    for (int32_t j = 0; j < t; j++) len += mask[row + (size_t)j];
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
      const double logp = b->logprobs[k];
      const double adv = b->advantages[k];
      const double rho = exp(logp - (double)b->behavior_logprobs[k]);
      const double rho_clip = fmin(fmax(rho, 1.0 - clip_low), 1.0 + clip_high);
      const double unclipped = rho * adv, clip_term = rho_clip * adv;
      double surrogate, g; /* min(...), and d(-min(...))/dlogp */
      if (unclipped <= clip_term) { /* ties take the unclipped branch */
        surrogate = unclipped;
        g = -unclipped; /* d(rho A)/dlogp = rho A */
      } else {
        surrogate = clip_term; /* rho is outside the clip range: constant in logp */
        g = 0.0;
        clipped += m;
      }
      row_policy += m * -surrogate;
      if (ref) {
        const double x = (double)ref[k] - logp;
        const double ex = exp(x);
        const double kl = ex - x - 1.0;
        row_kl += m * kl;
        kl_sum += m * kl;
        if (use_kl) g += beta * (1.0 - ex);
      }
      grad[k] = (float)(w * m * g);
      tokens += m;
      ratio_sum += m * rho;
      adv_sum += m * adv;
    }
    loss_policy += w * row_policy;
    loss += w * (row_policy + (use_kl ? beta * row_kl : 0.0));
  }

  result->loss = loss;
  if (RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, metric_context) && result->metric) {
    /* Token means are weighted by the mask (plain means for a 0/1 mask). */
    void *ctx = result->metric_context;
    result->metric(ctx, "loss_policy", loss_policy);
    result->metric(ctx, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
    result->metric(ctx, "clip_fraction", tokens > 0.0 ? clipped / tokens : 0.0);
    result->metric(ctx, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
    result->metric(ctx, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_algorithm_api grpo_api = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = grpo_error_code,
    .error_message = grpo_error_message,
    .error_destroy = grpo_error_destroy,
    .info = grpo_info,
    .create = grpo_create,
    .destroy = grpo_destroy,
    .get_hyperparameters = grpo_get_hyperparameters,
    .compute_advantages = grpo_compute_advantages,
    .compute_loss = grpo_compute_loss,
};

static const rlax_manifest grpo_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "grpo",
    .version = "0.1.0",
    .description = "GRPO (DeepSeekMath): group-normalised advantages, clipped ratio, k3 KL to the reference",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &grpo_manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "grpo")) return NULL;
  return &grpo_api;
}
