/*
 * algorithm_plugin.h — what every rlax algorithm plugin shares, header-only (static inline) so a
 * plugin still depends on nothing but include/rlax/. A plugin is one .c file that
 *
 *   #define ALG_NAME "name"                    (before including this header)
 *   lists its hyperparameters                  (ALG_HP entries; ALG_SWITCH marks a 0/1 one)
 *   writes compute_advantages and compute_loss (and select_sequences, for dynamic sampling),
 *                                              each taking the instance's values hp[]
 *   ends with ALG_DEFINE_PLUGIN(...)           (or ALG_DEFINE_PLUGIN_WITH_SELECT(...))
 *
 * The macro generates the rest: the info and manifest, create / destroy / get_hyperparameters,
 * the "algorithm is NULL" check of every entry, the api table and the two exported symbols.
 *
 *   errors       alg_error(code, fmt, ...) and the error functions of the table
 *   options      alg_parse_options: defaults, then --algo-opt name=value against the table
 *   validation   alg_check_batch, alg_require, alg_require_ref, alg_check_mask,
 *                alg_check_finite, alg_check_rewards, alg_require_kl_reward,
 *                alg_check_kl_reward, alg_check_result, alg_check_advantage_inputs,
 *                alg_check_loss_inputs
 *   rows         alg_row_length, alg_counted_length, alg_mask_total, alg_broadcast_rows,
 *                alg_rewards_as_double
 *   metrics      alg_metric
 *
 * Every message starts with "ALG_NAME: FUNCTION: " and names the option, array, row or token,
 * with what was expected and what was found.
 */
#ifndef RLAX_PLUGINS_ALGORITHMS_SHARED_ALGORITHM_PLUGIN_H
#define RLAX_PLUGINS_ALGORITHMS_SHARED_ALGORITHM_PLUGIN_H

#ifndef ALG_NAME
#error "define ALG_NAME (the plugin's name, e.g. \"grpo\") before including algorithm_plugin.h"
#endif

#include <rlax/algorithm.h>
#include <rlax/plugin_support.h>

#include <math.h>

RLAX_DEFINE_ERRORS(alg)

/* ---------------------------------------------------------------------------------------- */
/* Hyperparameters and options                                                               */

/* One entry of a plugin's hyperparameter list (a pointer to a static rlax_hyperparameter). */
#define ALG_HP(name, description, def, lo, hi) \
  (&(const rlax_hyperparameter){sizeof(rlax_hyperparameter), (name), (description), (def), (lo), \
                                 (hi)})

/* Bit i of a switch mask: hyperparameter i must be exactly 0 or 1. */
#define ALG_SWITCH(i) (1u << (unsigned)(i))

#define ALG_MAX_HYPERPARAMETERS 16

/* An instance: the hyperparameter values in effect, in the order of the plugin's list. */
struct rlax_algorithm {
  double hp[ALG_MAX_HYPERPARAMETERS];
};

/* Parses one option into values[]: the whole string must be a finite number in range. */
static inline rlax_error *alg_parse_option(const rlax_hyperparameter *const *table, int count,
                                           uint32_t switches, const char *key, const char *value,
                                           double *values) {
  int index = -1;
  for (int i = 0; i < count; i++)
    if (key && strcmp(key, table[i]->name) == 0) index = i;
  if (index < 0) {
    char known[512];
    size_t used = 0;
    known[0] = '\0';
    for (int i = 0; i < count && used < sizeof known; i++) {
      int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", table[i]->name);
      if (w < 0) break;
      used += (size_t)w;
    }
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": unknown option '%s' (known: %s)",
                     key ? key : "(null)", known);
  }
  if (!value || !*value)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": option %s has an empty value, expected a number", key);
  char *end = NULL;
  double v = strtod(value, &end);
  if (end == value || *end != '\0')
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": option %s=%s is not a number", key,
                     value);
  const rlax_hyperparameter *h = table[index];
  if (!(v >= h->min_value && v <= h->max_value)) /* also refuses NaN and infinities */
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": option %s=%s is out of range [%g, %g]", key, value, h->min_value,
                     h->max_value);
  if ((switches & ALG_SWITCH(index)) && v != 0.0 && v != 1.0)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": option %s=%s must be 0 or 1", key,
                     value);
  values[index] = v;
  return NULL;
}

/* values[count] = the defaults, then every option of args (which may be NULL). */
static inline rlax_error *alg_parse_options(const rlax_hyperparameter *const *table, int count,
                                            uint32_t switches,
                                            const rlax_algorithm_create_args *args,
                                            double *values) {
  for (int i = 0; i < count; i++) values[i] = table[i]->default_value;
  if (!args) return NULL;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_algorithm_create_args, args->struct_size, num_options))
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": create: args.struct_size is %zu, too small for num_options",
                     args->struct_size);
  if (args->num_options > 0 && (!args->option_keys || !args->option_values))
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": create: %zu options but option_keys or option_values is NULL",
                     args->num_options);
  for (size_t i = 0; i < args->num_options; i++) {
    rlax_error *e = alg_parse_option(table, count, switches, args->option_keys[i],
                                     args->option_values[i], values);
    if (e) return e;
  }
  return NULL;
}

static inline rlax_error *alg_create(const rlax_algorithm_info *info, uint32_t switches,
                                     const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  if (!out) return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": create: out is NULL");
  *out = NULL;
  double values[ALG_MAX_HYPERPARAMETERS];
  rlax_error *e =
      alg_parse_options(info->hyperparameters, info->num_hyperparameters, switches, args, values);
  if (e) return e;
  rlax_algorithm *a = malloc(sizeof *a);
  if (!a) return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": create: out of memory");
  memcpy(a->hp, values, (size_t)info->num_hyperparameters * sizeof *values);
  *out = a;
  return NULL;
}

static inline void alg_destroy(rlax_algorithm *a) { free(a); }

static inline rlax_error *alg_get_hyperparameters(const rlax_algorithm_info *info,
                                                  rlax_algorithm *a, double *values) {
  if (!a || !values)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": get_hyperparameters: algorithm or values is NULL");
  memcpy(values, a->hp, (size_t)info->num_hyperparameters * sizeof *values);
  return NULL;
}

static inline rlax_error *alg_instance_is_null(const char *fn) {
  return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: algorithm is NULL", fn);
}

/* ---------------------------------------------------------------------------------------- */
/* Batch validation                                                                          */

/* N >= 1, T >= 1, and a struct_size that covers advantages; with why_max_tokens (the reason,
 * for the message; NULL: not needed) also max_response_tokens, which must be >= 1. */
static inline rlax_error *alg_check_batch(const char *fn, const rlax_rollout_batch *b,
                                          const char *why_max_tokens) {
  if (!b) return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: batch is NULL", fn);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, advantages))
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": %s: batch.struct_size is %zu, expected at least %zu", fn,
                     b->struct_size,
                     offsetof(rlax_rollout_batch, advantages) + sizeof(b->advantages));
  if (b->num_sequences < 1)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": %s: num_sequences is %d, expected >= 1", fn,
                     (int)b->num_sequences);
  if (b->num_tokens < 1)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: num_tokens is %d, expected >= 1",
                     fn, (int)b->num_tokens);
  if (why_max_tokens) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_rollout_batch, b->struct_size, max_response_tokens))
      return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                       ALG_NAME ": %s: batch.struct_size is %zu, expected at least %zu for "
                                "max_response_tokens (%s)",
                       fn, b->struct_size,
                       offsetof(rlax_rollout_batch, max_response_tokens) +
                           sizeof(b->max_response_tokens),
                       why_max_tokens);
    if (b->max_response_tokens < 1)
      return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                       ALG_NAME ": %s: batch.max_response_tokens is %d, expected >= 1 (%s)", fn,
                       (int)b->max_response_tokens, why_max_tokens);
  }
  return NULL;
}

static inline rlax_error *alg_require(const char *fn, const void *p, const char *name) {
  if (p) return NULL;
  return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: batch.%s is NULL", fn, name);
}

/* ref_logprobs are required when a KL weight > 0 uses them. */
static inline rlax_error *alg_require_ref(const char *fn, const rlax_rollout_batch *b,
                                          double kl_beta) {
  if (kl_beta <= 0.0 || b->ref_logprobs) return NULL;
  return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                   ALG_NAME ": %s: batch.ref_logprobs is NULL but kl_beta is %g (pass the "
                            "reference log-probs, or set kl_beta=0)",
                   fn, kl_beta);
}

/* The mask must be finite and >= 0 everywhere (it weighs tokens; 0 = padding). */
static inline rlax_error *alg_check_mask(const char *fn, const float *mask, int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      float m = mask[(size_t)i * (size_t)t + (size_t)j];
      if (!(isfinite(m) && m >= 0.0f))
        return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                         ALG_NAME ": %s: mask[%d, %d] is %g, expected a finite value >= 0", fn,
                         (int)i, (int)j, (double)m);
    }
  return NULL;
}

/* Values of `a` must be finite where the mask counts the token. */
static inline rlax_error *alg_check_finite(const char *fn, const char *name, const float *a,
                                           const float *mask, int32_t n, int32_t t) {
  for (int32_t i = 0; i < n; i++)
    for (int32_t j = 0; j < t; j++) {
      size_t k = (size_t)i * (size_t)t + (size_t)j;
      if (mask[k] != 0.0f && !isfinite(a[k]))
        return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                         ALG_NAME ": %s: %s[%d, %d] (row %d, token %d) is %g, expected a finite "
                                  "value",
                         fn, name, (int)i, (int)j, (int)i, (int)j, (double)a[k]);
    }
  return NULL;
}

static inline rlax_error *alg_check_rewards(const char *fn, const float *rewards, int32_t n) {
  for (int32_t i = 0; i < n; i++)
    if (!isfinite(rewards[i]))
      return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                       ALG_NAME ": %s: rewards[%d] is %g, expected a finite value", fn, (int)i,
                       (double)rewards[i]);
  return NULL;
}

/* What compute_loss needs of its result. The group-policy plugins ask for room up to
 * dloss_dlogprobs; the others for room up to dloss_dvalues (a different message), and PPO for
 * dloss_dvalues itself. */
typedef enum alg_result_needs {
  ALG_RESULT_LOGPROBS,      /* struct_size covers dloss_dlogprobs */
  ALG_RESULT_VALUES_FIELD,  /* struct_size covers dloss_dvalues, which may be NULL */
  ALG_RESULT_VALUES,        /* struct_size covers dloss_dvalues, which must be set */
} alg_result_needs;

static inline rlax_error *alg_check_result(const char *fn, const rlax_loss_result *result,
                                           alg_result_needs needs) {
  if (!result) return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: result is NULL", fn);
  if (needs == ALG_RESULT_LOGPROBS) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, dloss_dlogprobs))
      return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                       ALG_NAME ": %s: result.struct_size is %zu, too small", fn,
                       result->struct_size);
  } else if (!RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, dloss_dvalues)) {
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": %s: result.struct_size is %zu, expected at least %zu", fn,
                     result->struct_size,
                     offsetof(rlax_loss_result, dloss_dvalues) + sizeof(result->dloss_dvalues));
  }
  if (!result->dloss_dlogprobs)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: result.dloss_dlogprobs is NULL",
                     fn);
  if (needs == ALG_RESULT_VALUES && !result->dloss_dvalues)
    return alg_error(RLAX_ERROR_INVALID_ARGUMENT,
                     ALG_NAME ": %s: result.dloss_dvalues is NULL (this algorithm has a value "
                              "head)",
                     fn);
  return NULL;
}

/* A KL reward with kl_beta > 0 reads behavior_logprobs and ref_logprobs: both must be given
 * (alg_require_kl_reward) and finite where counted (alg_check_kl_reward). */
static inline rlax_error *alg_require_kl_reward(const char *fn, const rlax_rollout_batch *b,
                                                double kl_beta) {
  rlax_error *e = NULL;
  if (kl_beta > 0.0) e = alg_require(fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = alg_require_ref(fn, b, kl_beta);
  return e;
}

static inline rlax_error *alg_check_kl_reward(const char *fn, const rlax_rollout_batch *b,
                                              double kl_beta) {
  if (kl_beta <= 0.0) return NULL;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  rlax_error *e = alg_check_finite(fn, "behavior_logprobs", b->behavior_logprobs, b->mask, n, t);
  if (!e) e = alg_check_finite(fn, "ref_logprobs", b->ref_logprobs, b->mask, n, t);
  return e;
}

/* What compute_advantages reads: group_ids (need_groups), rewards, mask and the KL reward's
 * log-probs (kl_beta > 0); the output there; the mask valid; rewards finite.
 * why_max_tokens: as alg_check_batch. */
static inline rlax_error *alg_check_advantage_inputs(const char *fn, const rlax_rollout_batch *b,
                                                     const float *advantages, bool need_groups,
                                                     double kl_beta, const char *why_max_tokens) {
  rlax_error *e = alg_check_batch(fn, b, why_max_tokens);
  if (!e && need_groups) e = alg_require(fn, b->group_ids, "group_ids");
  if (!e) e = alg_require(fn, b->rewards, "rewards");
  if (!e) e = alg_require(fn, b->mask, "mask");
  if (!e) e = alg_require_kl_reward(fn, b, kl_beta);
  if (!e && !advantages)
    e = alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: advantages (output) is NULL", fn);
  if (!e) e = alg_check_mask(fn, b->mask, b->num_sequences, b->num_tokens);
  if (!e) e = alg_check_rewards(fn, b->rewards, b->num_sequences);
  if (!e) e = alg_check_kl_reward(fn, b, kl_beta);
  return e;
}

/* What compute_loss reads: mask, logprobs, behavior_logprobs, advantages (finite where the
 * mask counts), ref_logprobs when kl_beta > 0 (and checked when given), and a result as
 * `needs` says. why_max_tokens: as alg_check_batch. */
static inline rlax_error *alg_check_loss_inputs(const char *fn, const rlax_rollout_batch *b,
                                                const rlax_loss_result *result, double kl_beta,
                                                const char *why_max_tokens,
                                                alg_result_needs needs) {
  rlax_error *e = alg_check_batch(fn, b, why_max_tokens);
  if (!e) e = alg_require(fn, b->mask, "mask");
  if (!e) e = alg_require(fn, b->logprobs, "logprobs");
  if (!e) e = alg_require(fn, b->behavior_logprobs, "behavior_logprobs");
  if (!e) e = alg_require(fn, b->advantages, "advantages");
  if (!e) e = alg_require_ref(fn, b, kl_beta);
  if (!e) e = alg_check_result(fn, result, needs);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  if ((e = alg_check_mask(fn, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "logprobs", b->logprobs, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "behavior_logprobs", b->behavior_logprobs, mask, n, t))) return e;
  if ((e = alg_check_finite(fn, "advantages", b->advantages, mask, n, t))) return e;
  if (b->ref_logprobs && (e = alg_check_finite(fn, "ref_logprobs", b->ref_logprobs, mask, n, t)))
    return e;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Rows and metrics                                                                          */

/* |o_i| = sum_t mask of one row. */
static inline double alg_row_length(const float *mask_row, int32_t t) {
  double len = 0.0;
  for (int32_t j = 0; j < t; j++) len += mask_row[j];
  return len;
}

/* |o_i| of row i; for a row with no counted token (0) also zeroes its gradient row. */
static inline double alg_counted_length(const rlax_rollout_batch *b, int32_t i, float *grad) {
  const int32_t t = b->num_tokens;
  const size_t row = (size_t)i * (size_t)t;
  const double len = alg_row_length(b->mask + row, t);
  if (len == 0.0)
    for (int32_t j = 0; j < t; j++) grad[row + (size_t)j] = 0.0f;
  return len;
}

/* sum_i |o_i|, summed row by row. */
static inline double alg_mask_total(const rlax_rollout_batch *b) {
  double total = 0.0;
  for (int32_t i = 0; i < b->num_sequences; i++)
    total += alg_row_length(b->mask + (size_t)i * (size_t)b->num_tokens, b->num_tokens);
  return total;
}

/* out[i, t] = value where mask[i, t] != 0, else 0, for row i. */
static inline void alg_broadcast_row(const rlax_rollout_batch *b, int32_t i, double value,
                                     float *out) {
  const int32_t t = b->num_tokens;
  for (int32_t j = 0; j < t; j++) {
    const size_t k = (size_t)i * (size_t)t + (size_t)j;
    out[k] = b->mask[k] != 0.0f ? (float)value : 0.0f;
  }
}

/* out[i, t] = rows[i] where mask[i, t] != 0, else 0. */
static inline void alg_broadcast_rows(const rlax_rollout_batch *b, const double *rows, float *out) {
  for (int32_t i = 0; i < b->num_sequences; i++) alg_broadcast_row(b, i, rows[i], out);
}

/* *out = a new array of the N rewards as doubles (free it). */
static inline rlax_error *alg_rewards_as_double(const char *fn, const rlax_rollout_batch *b,
                                                double **out) {
  const int32_t n = b->num_sequences;
  double *r = malloc((size_t)n * sizeof *r);
  *out = r;
  if (!r)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d rows", fn,
                     (int)n);
  for (int32_t i = 0; i < n; i++) r[i] = b->rewards[i];
  return NULL;
}

/* Reports one metric when the result has a metric callback. */
static inline void alg_metric(const rlax_loss_result *result, const char *name, double value) {
  if (RLAX_STRUCT_HAS_FIELD(rlax_loss_result, result->struct_size, metric_context) &&
      result->metric)
    result->metric(result->metric_context, name, value);
}

/* ---------------------------------------------------------------------------------------- */
/* The plugin                                                                                */

/* The plugin's functions: hp[] holds the instance's hyperparameter values. */
typedef rlax_error *(*alg_advantages_fn)(const double *hp, const rlax_rollout_batch *b,
                                         float *advantages);
typedef rlax_error *(*alg_loss_fn)(const double *hp, const rlax_rollout_batch *b,
                                   rlax_loss_result *result);
typedef rlax_error *(*alg_select_fn)(const double *hp, const rlax_rollout_batch *b,
                                     uint8_t *keep);

/* ALG_DEFINE_PLUGIN(hyperparameters, switches, description, compute_advantages, compute_loss,
 *                   .formula = ..., .needs_reference_logprobs = ..., ...)
 *   hyperparameters  the plugin's array of ALG_HP entries
 *   switches         ALG_SWITCH(i) | ... for those that must be 0 or 1 (0: none)
 *   description      the manifest's one line
 *   the rest         the other fields of rlax_algorithm_info, as designated initializers
 * ALG_DEFINE_PLUGIN_WITH_SELECT takes select_sequences after compute_loss. */
#define ALG_DEFINE_PLUGIN(hps_, switches_, description_, advantages_, loss_, ...)                \
  ALG_DEFINE_PLUGIN_(hps_, switches_, description_, advantages_, loss_, NULL,                    \
                     __VA_ARGS__)

#define ALG_DEFINE_PLUGIN_WITH_SELECT(hps_, switches_, description_, advantages_,                \
                                      loss_, select_, ...)                                       \
  static rlax_error *alg_api_select_sequences(rlax_algorithm *a, const rlax_rollout_batch *b,    \
                                              uint8_t *keep) {                                   \
    const alg_select_fn fn = (select_);                                                          \
    return a ? fn(a->hp, b, keep) : alg_instance_is_null("select_sequences");                    \
  }                                                                                              \
  ALG_DEFINE_PLUGIN_(hps_, switches_, description_, advantages_, loss_,                          \
                     alg_api_select_sequences, __VA_ARGS__)

#define ALG_DEFINE_PLUGIN_(hps_, switches_, description_, advantages_, loss_,                    \
                           select_entry_, ...)                                                   \
  _Static_assert(sizeof(hps_) / sizeof(hps_[0]) <=                                               \
                     ALG_MAX_HYPERPARAMETERS,                                                    \
                 "too many hyperparameters: raise ALG_MAX_HYPERPARAMETERS");                     \
  static const rlax_algorithm_info alg_info_value = {                                            \
      .struct_size = sizeof(rlax_algorithm_info),                                                \
      .num_hyperparameters = (int32_t)(sizeof(hps_) / sizeof(hps_[0])),                          \
      .hyperparameters = (hps_),                                                                 \
      __VA_ARGS__};                                                                              \
  static const rlax_algorithm_info *alg_api_info(void) { return &alg_info_value; }               \
  static rlax_error *alg_api_create(const rlax_algorithm_create_args *args,                      \
                                    rlax_algorithm **out) {                                      \
    return alg_create(&alg_info_value, (switches_), args, out);                                  \
  }                                                                                              \
  static rlax_error *alg_api_get_hyperparameters(rlax_algorithm *a, double *values) {            \
    return alg_get_hyperparameters(&alg_info_value, a, values);                                  \
  }                                                                                              \
  static rlax_error *alg_api_compute_advantages(rlax_algorithm *a, const rlax_rollout_batch *b,  \
                                                float *out) {                                    \
    const alg_advantages_fn fn = (advantages_);                                                  \
    return a ? fn(a->hp, b, out) : alg_instance_is_null("compute_advantages");                   \
  }                                                                                              \
  static rlax_error *alg_api_compute_loss(rlax_algorithm *a, const rlax_rollout_batch *b,        \
                                          rlax_loss_result *result) {                            \
    const alg_loss_fn fn = (loss_);                                                              \
    return a ? fn(a->hp, b, result) : alg_instance_is_null("compute_loss");                      \
  }                                                                                              \
  static const rlax_algorithm_api alg_api = {                                                    \
      .struct_size = sizeof(rlax_algorithm_api),                                                 \
      .abi_major = RLAX_ABI_MAJOR,                                                               \
      .abi_minor = RLAX_ABI_MINOR,                                                               \
      .error_code = alg_error_code,                                                              \
      .error_message = alg_error_message,                                                        \
      .error_destroy = alg_error_destroy,                                                        \
      .info = alg_api_info,                                                                      \
      .create = alg_api_create,                                                                  \
      .destroy = alg_destroy,                                                                    \
      .get_hyperparameters = alg_api_get_hyperparameters,                                        \
      .compute_advantages = alg_api_compute_advantages,                                          \
      .compute_loss = alg_api_compute_loss,                                                      \
      .select_sequences = (select_entry_),                                                       \
  };                                                                                             \
  static const rlax_manifest alg_manifest = {                                                    \
      .struct_size = sizeof(rlax_manifest),                                                      \
      .abi_major = RLAX_ABI_MAJOR,                                                               \
      .abi_minor = RLAX_ABI_MINOR,                                                               \
      .name = ALG_NAME,                                                                          \
      .version = "0.1.0",                                                                        \
      .description = (description_),                                                             \
      .kinds = RLAX_KIND_ALGORITHM,                                                              \
  };                                                                                             \
  RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &alg_manifest; }          \
  RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(                                  \
      const rlax_host_services *services) {                                                      \
    return rlax_host_is_compatible(services, ALG_NAME) ? &alg_api : NULL;                        \
  }



#endif /* RLAX_PLUGINS_ALGORITHMS_SHARED_ALGORITHM_PLUGIN_H */
