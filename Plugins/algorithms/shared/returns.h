/*
 * returns.h — static inline helpers shared by the rloo, reinforce-pp, ppo and mdloo algorithm
 * plugins: hyperparameter parsing, batch validation, leave-one-out baselines, token rewards,
 * discounted returns, GAE, batch whitening, KL estimators and the token-level PPO-clip term.
 *
 * Header-only; every function takes the plugin's name so that its messages read like grpo.c's
 * ("rloo: compute_loss: logprobs[3, 17] (row 3, token 17) is nan, expected a finite value").
 * Errors are made with rlax_support_error_v, so each plugin's RLAX_DEFINE_ERRORS destroy
 * function frees them.
 *
 * Conventions (see docs/algorithms.d/): arrays are row-major [N, T]; a token "counts" where
 * mask != 0 and the mask is its weight; a sequence's reward sits on its LAST counted token;
 * padding (mask = 0) is skipped by returns and GAE, as if it were not there.
 */
#ifndef RLAX_ALGORITHMS_SHARED_RETURNS_H
#define RLAX_ALGORITHMS_SHARED_RETURNS_H

#include <rlax/algorithm.h>
#include <rlax/plugin_support.h>

#include <math.h>

/* ---------------------------------------------------------------------------------------- */
/* Errors and metrics                                                                        */

__attribute__((format(printf, 2, 3))) static inline rlax_error *rr_error(rlax_error_code code,
                                                                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rlax_error *e = rlax_support_error_v(code, fmt, ap);
  va_end(ap);
  return e;
}

/* Reports one metric when the host asked for them. */
static inline void rr_metric(const rlax_loss_result *result, const char *name, double value) {
  if (RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, metric_context) && result->metric)
    result->metric(result->metric_context, name, value);
}

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters                                                                           */

/* Parses one --algo-opt into values[]: the name must be in table[count], the whole value must
 * be a number inside [min, max]; an index whose bit is set in switch_mask must be 0 or 1. */
static inline rlax_error *rr_parse_option(const char *plugin, const rlax_hyperparameter *table,
                                          int count, uint32_t switch_mask, const char *key,
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
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: unknown option '%s' (known: %s)", plugin,
                    key ? key : "(null)", known);
  }
  if (!value || !*value)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s has an empty value, expected a number",
                    plugin, key);
  char *end = NULL;
  double v = strtod(value, &end);
  if (end == value || *end != '\0')
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s is not a number", plugin, key, value);
  const rlax_hyperparameter *h = &table[index];
  if (!(v >= h->min_value && v <= h->max_value)) /* also refuses NaN */
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s is out of range [%g, %g]", plugin,
                    key, value, h->min_value, h->max_value);
  if ((switch_mask >> index) & 1u && v != 0.0 && v != 1.0)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s=%s must be 0 or 1", plugin, key, value);
  values[index] = v;
  return NULL;
}

/* Fills values[count] with the defaults, then applies the options of args (which may be NULL). */
static inline rlax_error *rr_parse_create_args(const char *plugin, const rlax_hyperparameter *table,
                                               int count, uint32_t switch_mask,
                                               const rlax_algorithm_create_args *args,
                                               double *values) {
  for (int i = 0; i < count; i++) values[i] = table[i].default_value;
  if (!args) return NULL;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_algorithm_create_args, args->struct_size, num_options))
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: create: args.struct_size is %zu, too small for num_options", plugin,
                    args->struct_size);
  if (args->num_options > 0 && (!args->option_keys || !args->option_values))
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: create: %zu options but option_keys or option_values is NULL", plugin,
                    args->num_options);
  for (size_t i = 0; i < args->num_options; i++) {
    rlax_error *e = rr_parse_option(plugin, table, count, switch_mask, args->option_keys[i],
                                    args->option_values[i], values);
    if (e) return e;
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Batch validation                                                                          */

static inline rlax_error *rr_check_batch_shape(const char *plugin, const char *fn,
                                               const rlax_rollout_batch *b) {
  if (!b) return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: batch is NULL", plugin, fn);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, advantages))
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s: batch.struct_size is %zu, expected at least %zu", plugin, fn,
                    b->struct_size, offsetof(rlax_rollout_batch, advantages) + sizeof(b->advantages));
  if (b->num_sequences < 1)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: num_sequences is %d, expected >= 1", plugin,
                    fn, (int)b->num_sequences);
  if (b->num_tokens < 1)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: num_tokens is %d, expected >= 1", plugin, fn,
                    (int)b->num_tokens);
  return NULL;
}

static inline rlax_error *rr_require(const char *plugin, const char *fn, const void *p,
                                     const char *name) {
  if (p) return NULL;
  return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: batch.%s is NULL", plugin, fn, name);
}

/* ref_logprobs are required when a KL weight > 0 uses them. */
static inline rlax_error *rr_require_ref(const char *plugin, const char *fn,
                                         const rlax_rollout_batch *b, double beta) {
  if (beta <= 0.0 || b->ref_logprobs) return NULL;
  return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s: batch.ref_logprobs is NULL but kl_beta is %g (pass the reference "
                  "log-probs, or set kl_beta=0)",
                  plugin, fn, beta);
}

/* The mask must be finite and >= 0 everywhere (it weighs tokens; 0 = padding). */
static inline rlax_error *rr_check_mask(const char *plugin, const char *fn, const float *mask,
                                        int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      float m = mask[(size_t)i * (size_t)t + (size_t)j];
      if (!(isfinite(m) && m >= 0.0f))
        return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: %s: mask[%d, %d] is %g, expected a finite value >= 0", plugin, fn,
                        (int)i, (int)j, (double)m);
    }
  return NULL;
}

/* Values of `a` must be finite where the mask counts the token. */
static inline rlax_error *rr_check_finite(const char *plugin, const char *fn, const char *name,
                                          const float *a, const float *mask, int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      if (mask[k] != 0.0f && !isfinite(a[k]))
        return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: %s: %s[%d, %d] (row %d, token %d) is %g, expected a finite value",
                        plugin, fn, name, (int)i, (int)j, (int)i, (int)j, (double)a[k]);
    }
  return NULL;
}

static inline rlax_error *rr_check_rewards(const char *plugin, const char *fn, const float *rewards,
                                           int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(rewards[i]))
      return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s: rewards[%d] is %g, expected a finite value", plugin, fn, (int)i,
                      (double)rewards[i]);
  return NULL;
}

/* Checks the result struct; need_values: dloss_dvalues must be there too. */
static inline rlax_error *rr_check_result(const char *plugin, const char *fn,
                                          const rlax_loss_result *result, bool need_values) {
  if (!result) return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: result is NULL", plugin, fn);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size,
                             dloss_dvalues))
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s: result.struct_size is %zu, expected at least %zu", plugin, fn,
                    result->struct_size,
                    offsetof(rlax_loss_result, dloss_dvalues) + sizeof(result->dloss_dvalues));
  if (!result->dloss_dlogprobs)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s: result.dloss_dlogprobs is NULL", plugin, fn);
  if (need_values && !result->dloss_dvalues)
    return rr_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s: result.dloss_dvalues is NULL (this algorithm has a value head)", plugin,
                    fn);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Rows and groups                                                                           */

/* |o_i| = sum_t mask of one row. */
static inline double rr_row_length(const float *mask_row, int32_t t) {
  double len = 0.0;
  for (int32_t j = 0; j < t; j++) len += mask_row[j];
  return len;
}

/* Index of the last counted token of a row, or -1 when none counts. */
static inline int32_t rr_last_token(const float *mask_row, int32_t t) {
  for (int32_t j = t - 1; j >= 0; j--)
    if (mask_row[j] != 0.0f) return j;
  return -1;
}

typedef struct {
  int32_t group;
  int32_t row;
} rr_group_row;

static inline int rr_compare_group_row(const void *pa, const void *pb) {
  const rr_group_row *a = pa, *b = pb;
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

/* Leave-one-out baseline within each group (rows with equal group_ids, anywhere in the batch):
 *   out_i = x_i - (1/(G-1)) sum_{j != i, j in G} x_j = G/(G-1) (x_i - mean_G x);
 * a group of one row gets 0 (nothing to compare with). Returns false when out of memory. */
static inline bool rr_leave_one_out(int32_t n, const int32_t *group_ids, const double *x,
                                    double *out) {
  rr_group_row *order = malloc((size_t)n * sizeof *order);
  if (!order) return false;
  for (int32_t i = 0; i < n; i++) order[i] = (rr_group_row){group_ids[i], i};
  qsort(order, (size_t)n, sizeof *order, rr_compare_group_row);
  for (int32_t start = 0; start < n;) {
    int32_t end = start + 1;
    while (end < n && order[end].group == order[start].group) end++;
    const int32_t size = end - start;
    if (size == 1) {
      out[order[start].row] = 0.0;
    } else {
      double sum = 0.0;
      for (int32_t k = start; k < end; k++) sum += x[order[k].row];
      for (int32_t k = start; k < end; k++) {
        const double xi = x[order[k].row];
        out[order[k].row] = xi - (sum - xi) / (double)(size - 1);
      }
    }
    start = end;
  }
  free(order);
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* KL estimators (Schulman, "Approximating KL divergence", 2020), with x = log q(a) - log p(a)   */
/* for a sample a ~ p, estimating KL(p || q):  k1 = -x,  k3 = exp(x) - x - 1 (>= 0).           */

static inline double rr_k1(double logp, double logq) { return logp - logq; }
static inline double rr_k3(double logp, double logq) {
  const double x = logq - logp;
  return exp(x) - x - 1.0;
}

/* ---------------------------------------------------------------------------------------- */
/* Token rewards, returns and GAE (one row at a time)                                        */

/* r_t = -beta * m_t * (behavior_t - ref_t) on counted tokens (k1, behaviour policy, no gradient;
 * beta = 0 or ref = NULL: no KL), plus the sequence reward on the last counted token; 0 on
 * padding. Returns the row's summed k1 (sum_t m_t (behavior_t - ref_t)), 0 without ref. */
static inline double rr_token_rewards(const float *mask_row, const float *behavior_row,
                                      const float *ref_row, double beta, double reward, int32_t t,
                                      double *out) {
  double kl = 0.0;
  for (int32_t j = 0; j < t; j++) {
    out[j] = 0.0;
    const double m = mask_row[j];
    if (m == 0.0) continue;
    if (ref_row) {
      const double k1 = m * rr_k1(behavior_row[j], ref_row[j]);
      kl += k1;
      if (beta > 0.0) out[j] = -beta * k1;
    }
  }
  const int32_t last = rr_last_token(mask_row, t);
  if (last >= 0) out[last] += reward;
  return kl;
}

/* G_t = r_t + gamma G_{t'} over counted tokens (t' the next counted token; G past the last is 0);
 * 0 on padding. rewards and out may be the same array. */
static inline void rr_discounted_returns(const float *mask_row, const double *rewards, double gamma,
                                         int32_t t, double *out) {
  double next = 0.0;
  for (int32_t j = t - 1; j >= 0; j--) {
    if (mask_row[j] == 0.0f) {
      out[j] = 0.0;
      continue;
    }
    next = rewards[j] + gamma * next;
    out[j] = next;
  }
}

/* GAE (Schulman et al. 2016) over counted tokens, V = values_row (at generation time):
 *   delta_t = r_t + gamma V_{t'} - V_t     (t' the next counted token; V past the last is 0)
 *   A_t = delta_t + gamma lambda A_{t'},   R_t = A_t + V_t.
 * adv and ret are 0 on padding; ret may be NULL. */
static inline void rr_gae(const float *mask_row, const double *rewards, const float *values_row,
                          double gamma, double lambda, int32_t t, double *adv, double *ret) {
  double next_value = 0.0, next_adv = 0.0;
  for (int32_t j = t - 1; j >= 0; j--) {
    if (mask_row[j] == 0.0f) {
      adv[j] = 0.0;
      if (ret) ret[j] = 0.0;
      continue;
    }
    const double v = values_row[j];
    const double delta = rewards[j] + gamma * next_value - v;
    next_adv = delta + gamma * lambda * next_adv;
    next_value = v;
    adv[j] = next_adv;
    if (ret) ret[j] = next_adv + v;
  }
}

/* Whitens x[count] over the counted tokens of the batch, weighted by the mask:
 *   x <- (x - mean) / (std + eps),  mean and (population) std weighted by m; 0 on padding.
 * With std + eps == 0 (every counted value equal and eps = 0) the result is 0. */
static inline void rr_whiten(double *x, const float *mask, size_t count, double eps,
                             double *mean_out, double *std_out) {
  double w = 0.0, sum = 0.0;
  for (size_t k = 0; k < count; k++)
    if (mask[k] != 0.0f) {
      w += mask[k];
      sum += mask[k] * x[k];
    }
  const double mean = w > 0.0 ? sum / w : 0.0;
  double var = 0.0;
  for (size_t k = 0; k < count; k++)
    if (mask[k] != 0.0f) {
      const double d = x[k] - mean;
      var += mask[k] * d * d;
    }
  const double std = w > 0.0 ? sqrt(var / w) : 0.0;
  const double denom = std + eps;
  for (size_t k = 0; k < count; k++) {
    if (mask[k] == 0.0f || denom == 0.0)
      x[k] = 0.0;
    else
      x[k] = (x[k] - mean) / denom;
  }
  if (mean_out) *mean_out = mean;
  if (std_out) *std_out = std;
}

/* ---------------------------------------------------------------------------------------- */
/* PPO-clip (Schulman et al. 2017), one token                                                 */

typedef struct {
  double rho;     /* exp(logp - logp_old) */
  double loss;    /* -min(rho A, clip(rho, 1 - eps_low, 1 + eps_high) A) */
  double dlogp;   /* d loss / d logp */
  bool clipped;   /* the clipped branch was the min (no gradient) */
} rr_clip_term;

/* At a tie (every rho inside the clip range) the unclipped branch is taken, as in grpo.c. */
static inline rr_clip_term rr_ppo_clip(double logp, double logp_old, double adv, double clip_low,
                                       double clip_high) {
  rr_clip_term r;
  r.rho = exp(logp - logp_old);
  const double rho_clip = fmin(fmax(r.rho, 1.0 - clip_low), 1.0 + clip_high);
  const double unclipped = r.rho * adv, clip_term = rho_clip * adv;
  if (unclipped <= clip_term) {
    r.loss = -unclipped;
    r.dlogp = -unclipped; /* d(rho A)/dlogp = rho A */
    r.clipped = false;
  } else {
    r.loss = -clip_term;
    r.dlogp = 0.0;
    r.clipped = true;
  }
  return r;
}

/* ---------------------------------------------------------------------------------------- */
/* Clipped value loss (as in PPO implementations, e.g. OpenAI baselines ppo2), one token       */

typedef struct {
  double loss;    /* 0.5 max((V - R)^2, (V_clip - R)^2) */
  double dvalue;  /* d loss / d V */
  bool clipped;   /* the clipped branch was the max (no gradient) */
} rr_value_term;

static inline rr_value_term rr_value_clip(double v, double v_old, double ret, double vf_clip) {
  rr_value_term r;
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

#endif /* RLAX_ALGORITHMS_SHARED_RETURNS_H */
