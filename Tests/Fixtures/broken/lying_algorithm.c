/*
 * Broken on purpose: an algorithm that reports success but returns output the ABI forbids.
 * Honest for its first `lie_after` compute_loss calls (a REINFORCE with group-mean baseline:
 * A = r - mean_G r on every response token, loss = -sum(A * logp * mask) / N), then, by the
 * hyperparameter `lie`:
 *   1  a NaN loss
 *   2  an infinite advantage at (sequence 1, token 2)   (compute_advantages)
 *   3  a NaN dloss_dlogprobs at (sequence 1, token 2)
 *   4  a non-zero dloss_dlogprobs on the first padding token (mask 0)
 *   5  dereferences NULL in compute_loss (a crash)
 *   6  never returns from compute_loss (a hang)
 * The host must catch 1-4 before the optimizer step, naming the plugin and the first bad
 * index, and leave the weights as they were; 5 and 6 must end the process with a message
 * naming the plugin and compute_loss.
 */
#include <rlax/algorithm.h>
#include <rlax/plugin_support.h>

#include <math.h>
#include <unistd.h>

RLAX_DEFINE_ERRORS(lying)

struct rlax_algorithm {
  double lie, lie_after;
  long losses; /* compute_loss calls so far */
};

static const rlax_hyperparameter hp_lie = {sizeof(rlax_hyperparameter), "lie", "which lie to tell (0 = none)", 0, 0, 6};
static const rlax_hyperparameter hp_after = {sizeof(rlax_hyperparameter), "lie_after", "honest compute_loss calls before lying", 0, 0, 1e9};
static const rlax_hyperparameter *const hps[] = {&hp_lie, &hp_after};
static const rlax_algorithm_info info = {
    .struct_size = sizeof(rlax_algorithm_info),
    .formula = "A_i = r_i - mean_G r; J = -sum A * logp / N (then lies)",
    .min_group_size = 1,
    .num_hyperparameters = 2,
    .hyperparameters = hps,
};

static const rlax_algorithm_info *alg_info(void) { return &info; }

static rlax_error *alg_create(const rlax_algorithm_create_args *args, rlax_algorithm **out) {
  rlax_algorithm *a = calloc(1, sizeof *a);
  if (!a) return lying_error(RLAX_ERROR_OUT_OF_MEMORY, "lying-algorithm: out of memory");
  for (size_t i = 0; args && i < args->num_options; i++) {
    char *end = NULL;
    double v = strtod(args->option_values[i], &end);
    if (!end || *end) {
      free(a);
      return lying_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-algorithm: %s is not a number", args->option_keys[i]);
    }
    if (strcmp(args->option_keys[i], "lie") == 0) a->lie = v;
    else if (strcmp(args->option_keys[i], "lie_after") == 0) a->lie_after = v;
    else {
      free(a);
      return lying_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-algorithm: unknown option %s", args->option_keys[i]);
    }
  }
  *out = a;
  return NULL;
}

static void alg_destroy(rlax_algorithm *a) { free(a); }

static rlax_error *alg_get(rlax_algorithm *a, double *values) {
  values[0] = a->lie;
  values[1] = a->lie_after;
  return NULL;
}

static int lying_now(const rlax_algorithm *a) { return (double)a->losses >= a->lie_after ? (int)a->lie : 0; }

static rlax_error *alg_advantages(rlax_algorithm *a, const rlax_rollout_batch *b, float *adv) {
  int n = b->num_sequences, t = b->num_tokens;
  for (int i = 0; i < n; i++) {
    double sum = 0;
    int count = 0;
    for (int j = 0; j < n; j++)
      if (b->group_ids[j] == b->group_ids[i]) { sum += b->rewards[j]; count++; }
    float A = (float)(b->rewards[i] - sum / count);
    for (int k = 0; k < t; k++) adv[i * t + k] = b->mask[i * t + k] != 0 ? A : 0.0f;
  }
  if (lying_now(a) == 2 && n > 1 && t > 2) adv[1 * t + 2] = INFINITY;
  return NULL;
}

static rlax_error *alg_loss(rlax_algorithm *a, const rlax_rollout_batch *b, rlax_loss_result *r) {
  int n = b->num_sequences, t = b->num_tokens;
  int lie = lying_now(a);
  a->losses++;
  double loss = 0;
  for (int i = 0; i < n * t; i++) {
    loss -= b->advantages[i] * b->logprobs[i] * b->mask[i] / n;
    r->dloss_dlogprobs[i] = -b->advantages[i] * b->mask[i] / n;
  }
  r->loss = loss;
  if (lie == 1) r->loss = NAN;
  if (lie == 3 && n > 1 && t > 2) r->dloss_dlogprobs[1 * t + 2] = NAN;
  if (lie == 4) {
    for (int i = 0; i < n * t; i++)
      if (b->mask[i] == 0) { r->dloss_dlogprobs[i] = 0.5f; break; }
  }
  if (lie == 5) {
    volatile int *null = NULL;
    *null = 1;
  }
  if (lie == 6)
    for (;;) sleep(1);
  return NULL;
}

static const rlax_algorithm_api table = {
    .struct_size = sizeof(rlax_algorithm_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = lying_error_code,
    .error_message = lying_error_message,
    .error_destroy = lying_error_destroy,
    .info = alg_info,
    .create = alg_create,
    .destroy = alg_destroy,
    .get_hyperparameters = alg_get,
    .compute_advantages = alg_advantages,
    .compute_loss = alg_loss,
};

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "lying-algorithm",
    .version = "0.0.1",
    .description = "test fixture: an algorithm whose output breaks the ABI's promises",
    .kinds = RLAX_KIND_ALGORITHM,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_algorithm_api *rlax_get_algorithm_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "lying-algorithm")) return NULL;
  return &table;
}
