/*
 * group_policy.h — what the group-relative policy-gradient plugins (dr-grpo, dapo, gspo,
 * cispo) share, header-only (static inline) so each plugin still depends on nothing but
 * include/rlax/:
 *
 *   errors          RLAX_DEFINE_ERRORS(gp): gp_error, gp_error_code/_message/_destroy
 *   options         gp_create_values: defaults, then --algo-opt name=value, checked against a
 *                   hyperparameter table (unknown name, not a number, out of range, not 0/1)
 *   validation      gp_check_batch, gp_require, gp_check_mask, gp_check_finite,
 *                   gp_check_rewards, gp_check_loss_inputs
 *   group stats     gp_group_stats (mean, population std, size, spread per row's group),
 *                   gp_group_advantages (A_i = (r_i - mean) [/ (std + eps)], broadcast to tokens)
 *   token loss      gp_clipped_min (PPO's min(rho A, clip(rho) A) and its derivative),
 *                   gp_k3 (k3 KL), gp_token_clipped_loss (token sum / a constant)
 *   metrics         gp_metric
 *
 * Every message starts with "PLUGIN: FUNCTION: " and names the option, array, row or token,
 * with what was expected and what was found, as grpo.c does.
 */
#ifndef RLAX_PLUGINS_ALGORITHMS_SHARED_GROUP_POLICY_H
#define RLAX_PLUGINS_ALGORITHMS_SHARED_GROUP_POLICY_H

#include <rlax/algorithm.h>
#include <rlax/plugin_support.h>

#include <math.h>

RLAX_DEFINE_ERRORS(gp)

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters and options                                                               */

#define GP_HP(n, d, def, lo, hi) \
  {sizeof(rlax_hyperparameter), (n), (d), (def), (lo), (hi)}

/* Bit i of a switch mask: hyperparameter i must be exactly 0 or 1. */
#define GP_SWITCH(i) (1u << (unsigned)(i))

/* Parses one option into values[]: the whole string must be a finite number in range. */
static inline rlax_error *gp_parse_option(const char *plugin, const rlax_hyperparameter *table,
                                          int count, uint32_t switches, const char *key,
                                          const char *value, double *values) {
  int index = -1;
  for (int i = 0; i < count; i++)
    if (key && strcmp(key, table[i].name) == 0) index = i;
  if (index < 0) {
    char known[512];
    size_t used = 0;
    known[0] = '\0';
    for (int i = 0; i < count && used < sizeof known; i++) {
      int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", table[i].name);
      if (w < 0) break;
      used += (size_t)w;
    }
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: unknown option '%s' (known: %s)", plugin,
                    key ? key : "(null)", known);
  }
  if (!value || !*value)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: option %s has an empty value, expected a number", plugin, key);
  char *end = NULL;
  double v = strtod(value, &end);
  if (end == value || *end != '\0')
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s is not a number", plugin, key,
                    value);
  const rlax_hyperparameter *h = &table[index];
  if (!(v >= h->min_value && v <= h->max_value)) /* also refuses NaN and infinities */
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s is out of range [%g, %g]",
                    plugin, key, value, h->min_value, h->max_value);
  if ((switches & GP_SWITCH(index)) && v != 0.0 && v != 1.0)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s must be 0 or 1", plugin, key,
                    value);
  values[index] = v;
  return NULL;
}

/* values[count] = the table's defaults, then every option of args (which may be NULL). */
static inline rlax_error *gp_create_values(const char *plugin, const rlax_hyperparameter *table,
                                           int count, uint32_t switches,
                                           const rlax_algorithm_create_args *args,
                                           double *values) {
  for (int i = 0; i < count; i++) values[i] = table[i].default_value;
  if (!args) return NULL;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_algorithm_create_args, args->struct_size, num_options))
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: create: args.struct_size is %zu, too small for num_options", plugin,
                    args->struct_size);
  if (args->num_options > 0 && (!args->option_keys || !args->option_values))
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: create: %zu options but option_keys or option_values is NULL", plugin,
                    args->num_options);
  for (size_t i = 0; i < args->num_options; i++) {
    rlax_error *e = gp_parse_option(plugin, table, count, switches, args->option_keys[i],
                                    args->option_values[i], values);
    if (e) return e;
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Batch validation                                                                          */

/* N >= 1, T >= 1, and a struct_size that covers advantages (and max_response_tokens, which
 * must then be >= 1, when need_max_tokens). */
static inline rlax_error *gp_check_batch(const char *plugin, const char *fn,
                                         const rlax_rollout_batch *b, bool need_max_tokens,
                                         const char *why_max_tokens) {
  if (!b) return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: batch is NULL", plugin, fn);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, advantages))
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s: batch.struct_size is %zu, expected at least %zu", plugin, fn,
                    b->struct_size, offsetof(rlax_rollout_batch, advantages) + sizeof(b->advantages));
  if (b->num_sequences < 1)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: num_sequences is %d, expected >= 1",
                    plugin, fn, (int)b->num_sequences);
  if (b->num_tokens < 1)
    return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: num_tokens is %d, expected >= 1",
                    plugin, fn, (int)b->num_tokens);
  if (need_max_tokens) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, max_response_tokens))
      return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s: batch.struct_size is %zu, expected at least %zu for "
                      "max_response_tokens (%s)",
                      plugin, fn, b->struct_size,
                      offsetof(rlax_rollout_batch, max_response_tokens) +
                          sizeof(b->max_response_tokens),
                      why_max_tokens);
    if (b->max_response_tokens < 1)
      return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s: batch.max_response_tokens is %d, expected >= 1 (%s)", plugin, fn,
                      (int)b->max_response_tokens, why_max_tokens);
  }
  return NULL;
}

static inline rlax_error *gp_require(const char *plugin, const char *fn, const void *p,
                                     const char *name) {
  if (p) return NULL;
  return gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: batch.%s is NULL", plugin, fn, name);
}

/* The mask must be finite and >= 0 everywhere (it weighs tokens; 0 = padding). */
static inline rlax_error *gp_check_mask(const char *plugin, const char *fn, const float *mask,
                                        int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      float m = mask[(size_t)i * (size_t)t + (size_t)j];
      if (!(isfinite(m) && m >= 0.0f))
        return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: %s: mask[%d, %d] is %g, expected a finite value >= 0", plugin, fn,
                        (int)i, (int)j, (double)m);
    }
  return NULL;
}

/* Values of `a` must be finite where the mask counts the token. */
static inline rlax_error *gp_check_finite(const char *plugin, const char *fn, const char *name,
                                          const float *a, const float *mask, int32_t n,
                                          int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      if (mask[k] != 0.0f && !isfinite(a[k]))
        return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: %s: %s[%d, %d] (row %d, token %d) is %g, expected a finite value",
                        plugin, fn, name, (int)i, (int)j, (int)i, (int)j, (double)a[k]);
    }
  return NULL;
}

static inline rlax_error *gp_check_rewards(const char *plugin, const char *fn,
                                           const float *rewards, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(rewards[i]))
      return gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s: rewards[%d] is %g, expected a finite value", plugin, fn, (int)i,
                      (double)rewards[i]);
  return NULL;
}

/* Everything compute_loss reads: mask, logprobs, behavior_logprobs, advantages (finite where
 * the mask counts), ref_logprobs when kl_beta > 0 (and checked when given), and a result
 * with room for dloss_dlogprobs. */
static inline rlax_error *gp_check_loss_inputs(const char *plugin, const char *fn,
                                               const rlax_rollout_batch *b,
                                               const rlax_loss_result *result, double kl_beta,
                                               bool need_max_tokens, const char *why_max_tokens) {
  rlax_error *e = gp_check_batch(plugin, fn, b, need_max_tokens, why_max_tokens);
  if (!e) e = gp_require(plugin, fn, b->mask, "mask");
  if (!e) e = gp_require(plugin, fn, b->logprobs, "logprobs");
  if (!e) e = gp_require(plugin, fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = gp_require(plugin, fn, b->advantages, "advantages");
  if (!e && kl_beta > 0.0 && !b->ref_logprobs)
    e = gp_error(RLAX_ERROR_INVALID_ARGUMENT,
                 "%s: %s: batch.ref_logprobs is NULL but kl_beta is %g (pass the reference "
                 "log-probs, or set kl_beta=0)",
                 plugin, fn, kl_beta);
  if (!e && !result) e = gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: result is NULL", plugin, fn);
  if (!e && !RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, dloss_dlogprobs))
    e = gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: result.struct_size is %zu, too small",
                 plugin, fn, result->struct_size);
  if (!e && !result->dloss_dlogprobs)
    e = gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: result.dloss_dlogprobs is NULL", plugin, fn);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  if ((e = gp_check_mask(plugin, fn, b->mask, n, t))) return e;
  if ((e = gp_check_finite(plugin, fn, "logprobs", b->logprobs, b->mask, n, t))) return e;
  if ((e = gp_check_finite(plugin, fn, "behavior_logprobs", b->behavior_logprobs, b->mask, n, t)))
    return e;
  if ((e = gp_check_finite(plugin, fn, "advantages", b->advantages, b->mask, n, t))) return e;
  if (b->ref_logprobs &&
      (e = gp_check_finite(plugin, fn, "ref_logprobs", b->ref_logprobs, b->mask, n, t)))
    return e;
  return NULL;
}

/* |o_i| = sum_t mask[i, t]. */
static inline double gp_row_length(const float *mask, int32_t row, int32_t t) {
  double len = 0.0;
  const size_t base = (size_t)row * (size_t)t;
  for (int32_t j = 0; j < t; j++) len += mask[base + (size_t)j];
  return len;
}

/* Reports one metric when the result has a metric callback. */
static inline void gp_metric(const rlax_loss_result *result, const char *name, double value) {
  if (RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, metric_context) &&
      result->metric)
    result->metric(result->metric_context, name, value);
}

/* ---------------------------------------------------------------------------------------- */
/* Group statistics                                                                          */

/* The statistics of the group a row belongs to. */
typedef struct gp_group_stat {
  double mean; /* mean of the group's values */
  double std;  /* population std (divide by G, not G - 1) */
  int32_t size; /* G: rows with this group id */
  bool spread;  /* the values are not all equal (max > min) */
} gp_group_stat;

typedef struct {
  int32_t group;
  int32_t row;
} gp_group_row;

static inline int gp_compare_group_row(const void *pa, const void *pb) {
  const gp_group_row *a = pa, *b = pb;
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

/* stats[i] = the statistics of values[] over row i's group (every row with the same group id;
 * groups need not be contiguous). Rows are visited in (group, row) order: deterministic. */
static inline rlax_error *gp_group_stats(const char *plugin, const char *fn, int32_t n,
                                         const int32_t *group_ids, const double *values,
                                         gp_group_stat *stats) {
  gp_group_row *order = malloc((size_t)n * sizeof *order);
  if (!order)
    return gp_error(RLAX_ERROR_OUT_OF_MEMORY, "%s: %s: out of memory for %d rows", plugin, fn,
                    (int)n);
  for (int32_t i = 0; i < n; i++) order[i] = (gp_group_row){group_ids[i], i};
  qsort(order, (size_t)n, sizeof *order, gp_compare_group_row);
  for (int32_t start = 0; start < n;) {
    int32_t end = start + 1;
    while (end < n && order[end].group == order[start].group) end++;
    const int32_t size = end - start;
    double mean = 0.0, lo = values[order[start].row], hi = lo;
    for (int32_t k = start; k < end; k++) {
      const double v = values[order[k].row];
      mean += v;
      lo = fmin(lo, v);
      hi = fmax(hi, v);
    }
    mean /= size;
    double var = 0.0;
    for (int32_t k = start; k < end; k++) {
      const double d = values[order[k].row] - mean;
      var += d * d;
    }
    var /= size;
    for (int32_t k = start; k < end; k++)
      stats[order[k].row] = (gp_group_stat){mean, sqrt(var), size, hi > lo};
    start = end;
  }
  free(order);
  return NULL;
}

/* advantages[i, t] = A_i where mask != 0, else 0, with
 *   A_i = (r_i - mean_G r) / (std_G r + eps)   (normalize)
 *   A_i =  r_i - mean_G r                      (!normalize, Dr. GRPO)
 * and A_i = 0 for a group of one row or a group whose rewards are all equal. `rewards` are
 * the (possibly shaped) per-row rewards, in double. */
static inline rlax_error *gp_group_advantages(const char *plugin, const char *fn,
                                              const rlax_rollout_batch *b, const double *rewards,
                                              bool normalize, double eps, float *advantages) {
  const int32_t n = b->num_sequences, t = b->num_tokens;
  gp_group_stat *stats = malloc((size_t)n * sizeof *stats);
  if (!stats)
    return gp_error(RLAX_ERROR_OUT_OF_MEMORY, "%s: %s: out of memory for %d rows", plugin, fn,
                    (int)n);
  rlax_error *e = gp_group_stats(plugin, fn, n, b->group_ids, rewards, stats);
  if (e) {
    free(stats);
    return e;
  }
  for (int32_t i = 0; i < n; i++) {
    const gp_group_stat *s = &stats[i];
    double a = 0.0; /* a lone row, or equal rewards: nothing to compare with */
    if (s->size > 1 && s->spread) {
      a = rewards[i] - s->mean;
      if (normalize) a /= s->std + eps;
    }
    for (int32_t j = 0; j < t; j++) {
      const size_t k = (size_t)i * (size_t)t + (size_t)j;
      advantages[k] = b->mask[k] != 0.0f ? (float)a : 0.0f;
    }
  }
  free(stats);
  return NULL;
}

/* The checks every compute_advantages starts with: group_ids, rewards, mask present; mask
 * valid; rewards finite; the output there. */
static inline rlax_error *gp_check_advantage_inputs(const char *plugin, const char *fn,
                                                    const rlax_rollout_batch *b,
                                                    const float *advantages,
                                                    bool need_max_tokens,
                                                    const char *why_max_tokens) {
  rlax_error *e = gp_check_batch(plugin, fn, b, need_max_tokens, why_max_tokens);
  if (!e) e = gp_require(plugin, fn, b->group_ids, "group_ids");
  if (!e) e = gp_require(plugin, fn, b->rewards, "rewards");
  if (!e) e = gp_require(plugin, fn, b->mask, "mask");
  if (!e && !advantages)
    e = gp_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: advantages (output) is NULL", plugin, fn);
  if (!e) e = gp_check_mask(plugin, fn, b->mask, b->num_sequences, b->num_tokens);
  if (!e) e = gp_check_rewards(plugin, fn, b->rewards, b->num_sequences);
  return e;
}

/* ---------------------------------------------------------------------------------------- */
/* Clipped policy loss                                                                       */

/* PPO's pessimistic surrogate min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A), for a
 * ratio = exp(x). *d_dx = its derivative in x: ratio A on the unclipped branch, 0 on the
 * clipped one (constant in x). Ties (every ratio inside the range) take the unclipped branch. */
static inline double gp_clipped_min(double ratio, double adv, double eps_low, double eps_high,
                                    double *d_dx, bool *clipped) {
  const double clipped_ratio = fmin(fmax(ratio, 1.0 - eps_low), 1.0 + eps_high);
  const double unclipped = ratio * adv, clip_term = clipped_ratio * adv;
  if (unclipped <= clip_term) {
    *d_dx = unclipped;
    *clipped = false;
    return unclipped;
  }
  *d_dx = 0.0;
  *clipped = true;
  return clip_term;
}

/* k3 estimator of KL(pi_theta || pi_ref) at one token: exp(ref - logp) - (ref - logp) - 1,
 * and its derivative in logp, 1 - exp(ref - logp). */
static inline double gp_k3(double ref, double logp, double *dkl_dlogp) {
  const double x = ref - logp, ex = exp(x);
  *dkl_dlogp = 1.0 - ex;
  return ex - x - 1.0;
}

/* The token-level clipped loss, aggregated by a constant denominator D > 0:
 *   L = (1/D) sum_i sum_t m_t [ -min(rho_t A_t, clip(rho_t, 1-eps_low, 1+eps_high) A_t)
 *                               + beta KL_t ]
 * D = N * L_max for Dr. GRPO, D = sum_i |o_i| for DAPO; D = 0 (no counted token) gives L = 0.
 * Writes result->loss and dloss_dlogprobs (0 where the mask is 0) and reports loss_policy,
 * kl (when ref_logprobs are given, even with beta = 0), clip_fraction, ratio_mean and
 * advantage_mean (token means weighted by the mask). Inputs must have been checked with
 * gp_check_loss_inputs. */
static inline void gp_token_clipped_loss(const rlax_rollout_batch *b, rlax_loss_result *result,
                                         double eps_low, double eps_high, double beta,
                                         double denominator) {
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask, *ref = b->ref_logprobs;
  const bool use_kl = beta > 0.0;
  const double w = denominator > 0.0 ? 1.0 / denominator : 0.0;
  float *grad = result->dloss_dlogprobs;
  double policy_sum = 0.0, kl_sum = 0.0, tokens = 0.0, clipped_sum = 0.0, ratio_sum = 0.0;
  double adv_sum = 0.0;
  for (size_t k = 0; k < (size_t)n * (size_t)t; k++) {
    const double m = mask[k];
    if (m == 0.0) {
      grad[k] = 0.0f;
      continue;
    }
    const double logp = b->logprobs[k], adv = b->advantages[k];
    const double rho = exp(logp - (double)b->behavior_logprobs[k]);
    double d_surrogate, g, dkl;
    bool clipped;
    const double surrogate = gp_clipped_min(rho, adv, eps_low, eps_high, &d_surrogate, &clipped);
    g = -d_surrogate;
    policy_sum += m * -surrogate;
    if (ref) {
      const double kl = gp_k3(ref[k], logp, &dkl);
      kl_sum += m * kl;
      if (use_kl) g += beta * dkl;
    }
    grad[k] = (float)(w * m * g);
    tokens += m;
    clipped_sum += clipped ? m : 0.0;
    ratio_sum += m * rho;
    adv_sum += m * adv;
  }
  const double loss_policy = w * policy_sum;
  result->loss = loss_policy + (use_kl ? w * beta * kl_sum : 0.0);
  gp_metric(result, "loss_policy", loss_policy);
  gp_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  gp_metric(result, "clip_fraction", tokens > 0.0 ? clipped_sum / tokens : 0.0);
  gp_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  gp_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
}

/* sum over the batch of the mask: sum_i |o_i|. */
static inline double gp_mask_total(const rlax_rollout_batch *b) {
  double total = 0.0;
  for (int32_t i = 0; i < b->num_sequences; i++) total += gp_row_length(b->mask, i, b->num_tokens);
  return total;
}

#endif /* RLAX_PLUGINS_ALGORITHMS_SHARED_GROUP_POLICY_H */
