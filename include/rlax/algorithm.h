/*
 * rlax/algorithm.h — the RL-algorithm plugin ABI.
 *
 * An algorithm turns a batch of scored rollouts into per-token advantages, and then into a
 * scalar loss with its gradient with respect to every token's log-prob under the current
 * policy (and, for algorithms with a value head, with respect to every token's value). The
 * host back-propagates dLoss/dlogprob through the model. In RLAX's form,
 *   J = sum_i sum_t sg[Agg * IS] * (sg[Adv] * Term1 + Term2).
 * All arrays are host memory, row-major [N, T] (N sequences of T response tokens, padded).
 *
 * Entry symbol:   RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(
 *                     const rlax_host_services *services);
 * Returns a static table, or NULL when the host's ABI major differs (after logging why).
 *
 * Threading: describe and create are thread-safe. One rlax_algorithm instance is used by one
 * thread at a time; distinct instances are independent.
 */
#ifndef RLAX_ALGORITHM_H
#define RLAX_ALGORITHM_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rlax_algorithm rlax_algorithm; /* opaque: an algorithm with its hyperparameters */

/* One hyperparameter, settable from the command line as --algo-opt name=value. */
typedef struct rlax_hyperparameter {
  size_t struct_size;
  const char *name;        /* [a-z0-9_]+ */
  const char *description; /* one line, with the symbol from the paper, e.g. "epsilon: ..." */
  double default_value;
  double min_value; /* inclusive; create refuses values outside [min_value, max_value] */
  double max_value;
} rlax_hyperparameter;

/* What the algorithm is and what it needs. Static: valid while the library is loaded. */
typedef struct rlax_algorithm_info {
  size_t struct_size;
  const char *formula;           /* one line, e.g. "A_i = (r_i - mean_G r) / (std_G r + eps); ..." */
  bool needs_reference_logprobs; /* batch.ref_logprobs must be given */
  bool needs_value_head;         /* batch.values / old_values must be given; dloss_dvalues is written */
  int32_t min_group_size;        /* samples per prompt it needs (1 = no groups) */
  int32_t num_hyperparameters;
  const rlax_hyperparameter *const *hyperparameters; /* [num_hyperparameters] */
} rlax_algorithm_info;

typedef struct rlax_algorithm_create_args {
  size_t struct_size;
  /* --algo-opt name=value pairs, borrowed for the call. A name the algorithm does not know,
   * a value that is not a number, or one out of range is INVALID_ARGUMENT naming it. */
  const char *const *option_keys;
  const char *const *option_values;
  size_t num_options;
} rlax_algorithm_create_args;

/* A batch of scored rollouts. Filled in by the host, borrowed for one call. Row n of every
 * [N, T] array is sequence n; rows of one prompt share a group id (ids are arbitrary, groups
 * need not be contiguous and may differ in size). */
typedef struct rlax_rollout_batch {
  size_t struct_size;
  int32_t num_sequences; /* N >= 1 */
  int32_t num_tokens;    /* T >= 1: response tokens per row, padded */
  const int32_t *group_ids; /* [N] */
  const float *rewards;     /* [N] scalar reward of each sequence */
  const float *mask;        /* [N, T] 1 for a response token that counts, 0 for padding
                             * (values between act as weights: |o_i| = sum_t mask) */
  const float *behavior_logprobs; /* [N, T] under the policy that generated the tokens (pi_old) */
  const float *logprobs;          /* [N, T] under the current policy pi_theta */
  const float *ref_logprobs;      /* [N, T] under the reference policy, or NULL; an algorithm
                                   * whose hyperparameters in effect use them (e.g. a KL weight
                                   * > 0) returns INVALID_ARGUMENT when they are NULL */
  const float *values;            /* [N, T] current value estimates, or NULL */
  const float *old_values;        /* [N, T] value estimates at generation time, or NULL */
  const float *advantages;        /* [N, T] from compute_advantages; read by compute_loss only */
  int32_t max_response_tokens;    /* L_max the run generates with (Dr.GRPO, overlong shaping) */
} rlax_rollout_batch;

/* Receives one named metric (e.g. "clip_fraction", "kl"). name is borrowed for the call. */
typedef void (*rlax_metric_fn)(void *context, const char *name, double value);

typedef struct rlax_loss_result {
  size_t struct_size;
  double loss;             /* written by the plugin */
  float *dloss_dlogprobs;  /* [N, T] host memory, overwritten by the plugin; 0 where mask is 0 */
  float *dloss_dvalues;    /* [N, T] host memory or NULL; written when needs_value_head */
  rlax_metric_fn metric;   /* may be NULL */
  void *metric_context;
} rlax_loss_result;

typedef struct rlax_algorithm_api {
  /* -- the common prefix (rlax_api_prefix) -- */
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  rlax_error_code (*error_code)(const rlax_error *error);
  const char *(*error_message)(const rlax_error *error);
  void (*error_destroy)(rlax_error *error);

  /* Static description; never NULL. */
  const rlax_algorithm_info *(*info)(void);
  /* Creates an instance with hyperparameters set from the defaults and the options. */
  rlax_error *(*create)(const rlax_algorithm_create_args *args, rlax_algorithm **out);
  /* Accepts NULL. */
  void (*destroy)(rlax_algorithm *algorithm);
  /* The values in effect, in the order of info()->hyperparameters: values[num_hyperparameters]. */
  rlax_error *(*get_hyperparameters)(rlax_algorithm *algorithm, double *values);
  /* Writes advantages [N, T] (0 where mask is 0) from rewards, log-probs and values of the
   * batch (batch->advantages is ignored). */
  rlax_error *(*compute_advantages)(rlax_algorithm *algorithm, const rlax_rollout_batch *batch,
                                    float *advantages);
  /* Computes the loss and its gradients for the batch (batch->advantages must be set). */
  rlax_error *(*compute_loss)(rlax_algorithm *algorithm, const rlax_rollout_batch *batch,
                              rlax_loss_result *result);

  /* Optional (NULL = keep every sequence): dynamic sampling (DAPO). Writes keep[N] = 1 for
   * sequences to train on and 0 for those to drop (e.g. every sequence of a group whose
   * rewards have no variance). Called on a freshly scored batch (logprobs = behavior
   * logprobs, advantages NULL); the host then generates more groups, deterministically,
   * until it has as many kept groups as a step needs or it reaches its limit. */
  rlax_error *(*select_sequences)(rlax_algorithm *algorithm, const rlax_rollout_batch *batch,
                                  uint8_t *keep);
} rlax_algorithm_api;

#define RLAX_ALGORITHM_API_MIN_SIZE \
  (offsetof(rlax_algorithm_api, compute_loss) + sizeof(void *))

typedef const rlax_algorithm_api *(*rlax_get_algorithm_api_fn)(const rlax_host_services *services);
#define RLAX_ALGORITHM_ENTRY_SYMBOL "rlax_get_algorithm_api"

#ifdef __cplusplus
}
#endif
#endif /* RLAX_ALGORITHM_H */
