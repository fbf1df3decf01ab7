/*
 * groups.h — statistics over the groups of a batch (the rows that share a group id: samples of
 * one prompt), for the group-relative plugins (grpo, dr-grpo, dapo, gspo, cispo, rloo, mdloo).
 * Header-only, on top of algorithm_plugin.h.
 *
 *   group_order                          rows sorted by (group id, row): a group is a run
 *   group_stats                          mean, population std, size and spread of each row's group
 *   group_reward_stats                   the same of the batch's rewards
 *   group_normalized_advantages[_from]   A_i = (r_i - mean_G r) [/ (std_G r + eps)]
 *   group_leave_one_out_advantages       A_i = x_i - mean of the other rows of the group
 *   GROUP_ADV_EPS_HP                     the eps of the std division, as a hyperparameter
 *
 * Groups need not be contiguous in the batch and may differ in size; rows are visited in
 * (group, row) order, so results are deterministic.
 */
#ifndef RLAX_PLUGINS_ALGORITHMS_SHARED_GROUPS_H
#define RLAX_PLUGINS_ALGORITHMS_SHARED_GROUPS_H

#include "algorithm_plugin.h"

#define GROUP_ADV_EPS_HP \
  ALG_HP("adv_eps", "eps: added to the group's reward std before dividing", 1e-6, 0.0, 1.0)

typedef struct group_row {
  int32_t group;
  int32_t row;
} group_row;

static inline int group_row_compare(const void *pa, const void *pb) {
  const group_row *a = pa, *b = pb;
  if (a->group != b->group) return a->group < b->group ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

/* *out = a new array of the n rows sorted by (group id, row) (free it). */
static inline rlax_error *group_order(const char *fn, int32_t n, const int32_t *group_ids,
                                      group_row **out) {
  group_row *order = malloc((size_t)n * sizeof *order);
  *out = order;
  if (!order)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d rows", fn,
                     (int)n);
  for (int32_t i = 0; i < n; i++) order[i] = (group_row){group_ids[i], i};
  qsort(order, (size_t)n, sizeof *order, group_row_compare);
  return NULL;
}

/* The end (exclusive) of the group that starts at order[start]. */
static inline int32_t group_end(const group_row *order, int32_t n, int32_t start) {
  int32_t end = start + 1;
  while (end < n && order[end].group == order[start].group) end++;
  return end;
}

/* The statistics of the group a row belongs to. */
typedef struct group_stat {
  double mean;  /* mean of the group's values */
  double std;   /* population std (divide by G, not G - 1) */
  int32_t size; /* G: rows with this group id */
  bool spread;  /* the values are not all equal (max > min) */
} group_stat;

/* stats[i] = the statistics of values[] over row i's group. */
static inline rlax_error *group_stats(const char *fn, int32_t n, const int32_t *group_ids,
                                      const double *values, group_stat *stats) {
  group_row *order;
  rlax_error *e = group_order(fn, n, group_ids, &order);
  if (e) return e;
  for (int32_t start = 0; start < n;) {
    const int32_t end = group_end(order, n, start), size = end - start;
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
      stats[order[k].row] = (group_stat){mean, sqrt(var), size, hi > lo};
    start = end;
  }
  free(order);
  return NULL;
}

/* *rewards = the batch's rewards as doubles and *stats = their group statistics, both new
 * arrays of N (free both, also on error). */
static inline rlax_error *group_reward_stats(const char *fn, const rlax_rollout_batch *b,
                                             double **rewards, group_stat **stats) {
  const int32_t n = b->num_sequences;
  *rewards = NULL;
  *stats = malloc((size_t)n * sizeof **stats);
  if (!*stats)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d rows", fn,
                     (int)n);
  rlax_error *e = alg_rewards_as_double(fn, b, rewards);
  if (!e) e = group_stats(fn, n, b->group_ids, *rewards, *stats);
  return e;
}

/* advantages[i, t] = A_i where mask != 0, else 0, with
 *   A_i = (r_i - mean_G r) / (std_G r + eps)   (normalize)
 *   A_i =  r_i - mean_G r                      (!normalize, Dr. GRPO)
 * and A_i = 0 for a group of one row or a group whose rewards are all equal. `rewards` are
 * the (possibly shaped) per-row rewards, in double. */
static inline rlax_error *group_normalized_advantages_from(const char *fn,
                                                           const rlax_rollout_batch *b,
                                                           const double *rewards, bool normalize,
                                                           double eps, float *advantages) {
  const int32_t n = b->num_sequences;
  group_stat *stats = malloc((size_t)n * sizeof *stats);
  if (!stats)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d rows", fn,
                     (int)n);
  rlax_error *e = group_stats(fn, n, b->group_ids, rewards, stats);
  if (!e)
    for (int32_t i = 0; i < n; i++) {
      const group_stat *s = &stats[i];
      double a = 0.0; /* a lone row, or equal rewards: nothing to compare with */
      if (s->size > 1 && s->spread) {
        a = rewards[i] - s->mean;
        if (normalize) a /= s->std + eps;
      }
      alg_broadcast_row(b, i, a, advantages);
    }
  free(stats);
  return e;
}

/* A whole compute_advantages of the group-normalised family, on the raw rewards. */
static inline rlax_error *group_normalized_advantages(const char *fn, const rlax_rollout_batch *b,
                                                      bool normalize, double eps,
                                                      float *advantages) {
  rlax_error *e = alg_check_advantage_inputs(fn, b, advantages, true, 0.0, NULL);
  double *rewards = NULL;
  if (!e) e = alg_rewards_as_double(fn, b, &rewards);
  if (!e) e = group_normalized_advantages_from(fn, b, rewards, normalize, eps, advantages);
  free(rewards);
  return e;
}

/* Leave-one-out baseline within each group (Kool et al. 2019):
 *   A_i = x_i - (1/(G-1)) sum_{j != i, j in G} x_j = G/(G-1) (x_i - mean_G x);
 * a group of one row gets 0 (nothing to compare with). advantages[i, t] = A_i where mask != 0. */
static inline rlax_error *group_leave_one_out_advantages(const char *fn,
                                                         const rlax_rollout_batch *b,
                                                         const double *x, float *advantages) {
  const int32_t n = b->num_sequences;
  double *out = malloc((size_t)n * sizeof *out);
  group_row *order = NULL;
  rlax_error *e = out ? group_order(fn, n, b->group_ids, &order)
                      : alg_error(RLAX_ERROR_OUT_OF_MEMORY,
                                  ALG_NAME ": %s: out of memory for %d rows", fn, (int)n);
  if (!e) {
    for (int32_t start = 0; start < n;) {
      const int32_t end = group_end(order, n, start), size = end - start;
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
    alg_broadcast_rows(b, out, advantages);
  }
  free(order);
  free(out);
  return e;
}

#endif /* RLAX_PLUGINS_ALGORITHMS_SHARED_GROUPS_H */
