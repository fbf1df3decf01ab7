/*
 * dapo.c — DAPO (Decoupled Clip and Dynamic sAmpling Policy Optimization) as an rlax
 * algorithm plugin.
 *
 * Yu et al. 2025, "DAPO: An Open-Source LLM Reinforcement Learning System at Scale"
 * (arXiv 2503.14476), section 3: clip-higher (3.1), dynamic sampling (3.2), token-level
 * policy-gradient loss (3.3), overlong reward shaping (3.4), and no KL term (2.3):
 *
 *   R_len(|o|) = 0                                  |o| <= L_max - L_cache
 *              = ((L_max - L_cache) - |o|) / L_cache L_max - L_cache < |o| <= L_max
 *              = -1                                 L_max < |o|
 *   A_i   = (r'_i - mean_G r') / (std_G r' + eps),  r'_i = r_i + R_len(|o_i|)
 *   rho_t = exp(logp_t - logp_old_t)
 *   L     = (1 / sum_i |o_i|) sum_i sum_t m_t [ -min(rho_t A_i, clip(rho_t, 1-e_low, 1+e_high) A_i) ]
 *   keep_i = 0 < #correct < G, read as: the group's raw rewards r (before shaping) are not
 *            all equal (select_sequences)
 *
 * L_max = batch.max_response_tokens, L_cache = overlong_fraction * L_max, |o_i| = sum_t m_t.
 * See docs/algorithms.md ("DAPO").
 */
#define ALG_NAME "dapo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_ADV_EPS, HP_OVERLONG_SHAPING, HP_OVERLONG_FRACTION, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = ALG_HP("clip_high",
                            "epsilon_high: the ratio is clipped above at 1 + epsilon_high "
                            "(clip-higher)",
                            0.28, 0.0, 10.0),
    [HP_ADV_EPS] = GROUP_ADV_EPS_HP,
    [HP_OVERLONG_SHAPING] = ALG_HP("overlong_shaping",
                                   "1: add the soft overlong penalty R_length to each reward "
                                   "before the advantages; 0: raw rewards",
                                   1.0, 0.0, 1.0),
    [HP_OVERLONG_FRACTION] = ALG_HP("overlong_fraction",
                                    "L_cache / L_max: the soft punishment interval, a fraction "
                                    "of max_response_tokens (paper: 4096 of 20480)",
                                    0.2, 0.0, 1.0),
};

/* DAPO section 3.4: the soft overlong punishment of a response of `length` tokens. */
static double overlong_penalty(double length, double l_max, double l_cache) {
  const double soft_start = l_max - l_cache;
  if (length <= soft_start) return 0.0;
  if (length <= l_max) return (soft_start - length) / l_cache; /* l_cache > 0 here */
  return -1.0;
}

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  const bool shaping = hp[HP_OVERLONG_SHAPING] != 0.0;
  rlax_error *e = alg_check_advantage_inputs(
      fn, b, advantages, true, 0.0,
      shaping ? "overlong_shaping=1 measures lengths against it; pass it, or set overlong_shaping=0"
              : NULL);
  double *rewards = NULL;
  if (!e) e = alg_rewards_as_double(fn, b, &rewards);
  if (e) return e;
  const int32_t t = b->num_tokens;
  const double l_max = shaping ? (double)b->max_response_tokens : 0.0;
  const double l_cache = hp[HP_OVERLONG_FRACTION] * l_max;
  if (shaping)
    for (int32_t i = 0; i < b->num_sequences; i++)
      rewards[i] += overlong_penalty(alg_row_length(b->mask + (size_t)i * (size_t)t, t), l_max,
                                     l_cache);
  e = group_normalized_advantages_from(fn, b, rewards, true, hp[HP_ADV_EPS], advantages);
  free(rewards);
  return e;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  rlax_error *e = alg_check_loss_inputs("compute_loss", b, result, 0.0, NULL, ALG_RESULT_LOGPROBS);
  if (e) return e;
  /* Token-level: every counted token of the batch weighs the same. */
  token_sum_clipped_loss(b, result, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH], 0.0, alg_mask_total(b));
  return NULL;
}

/* Dynamic sampling: keep[i] = 1 when row i's group has raw rewards that are not all equal
 * (with 0/1 correctness rewards: 0 < #correct < G); a group of one row carries no signal. */
static rlax_error *select_sequences(const double *hp, const rlax_rollout_batch *b, uint8_t *keep) {
  static const char fn[] = "select_sequences";
  (void)hp;
  rlax_error *e = alg_check_batch(fn, b, NULL);
  if (!e) e = alg_require(fn, b->group_ids, "group_ids");
  if (!e) e = alg_require(fn, b->rewards, "rewards");
  if (!e && !keep)
    e = alg_error(RLAX_ERROR_INVALID_ARGUMENT, ALG_NAME ": %s: keep (output) is NULL", fn);
  if (!e) e = alg_check_rewards(fn, b->rewards, b->num_sequences);
  if (e) return e;
  double *rewards;
  group_stat *stats;
  if (!(e = group_reward_stats(fn, b, &rewards, &stats)))
    for (int32_t i = 0; i < b->num_sequences; i++)
      keep[i] = stats[i].size > 1 && stats[i].spread ? 1 : 0;
  free(rewards);
  free(stats);
  return e;
}

ALG_DEFINE_PLUGIN_WITH_SELECT(
    hyperparameters, ALG_SWITCH(HP_OVERLONG_SHAPING),
    "DAPO (Yu et al. 2025): clip-higher, token-level loss, overlong reward "
    "shaping, dynamic sampling; no KL",
    compute_advantages, compute_loss, select_sequences,
    .formula = "r'_i = r_i + R_len(|o_i|), R_len = 0 if |o| <= L_max - L_cache, "
               "((L_max - L_cache) - |o|)/L_cache if <= L_max, -1 beyond; "
               "A_i = (r'_i - mean_G r') / (std_G r' + eps); rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum_i |o_i|) sum_i sum_t m_t [-min(rho_t A_i, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_i)]; keep groups whose raw rewards are not all equal",
    .needs_reference_logprobs = false, /* DAPO has no KL term */
    .needs_value_head = false, .min_group_size = 2)
