/*
 * reinforce_pp.c — REINFORCE++ as an rlax algorithm plugin (plugin name "reinforce-pp").
 *
 * Hu 2025, "REINFORCE++: A Simple and Efficient Approach for Aligning Large Language Models"
 * (arXiv 2501.03262): a critic-free PPO in which the KL to the reference is a token reward and
 * the advantage is the return normalised over the whole batch:
 *
 *   r_t   = -beta m_t (logp_old_t - ref_t) + [t = last counted token] r_i   (k1, no gradient)
 *   G_t   = sum_{t' >= t} gamma^(t'-t) r_t'                (over counted tokens)
 *   A_t   = (G_t - mean_B G) / (std_B G + eps)             (mean/std over every counted token
 *                                                           of the batch, weighted by the mask)
 *   rho_t = exp(logp_t - logp_old_t)
 *   L     = (1 / sum_i |o_i|) sum_i sum_t m_t [ -min(rho_t A_t, clip(rho_t, 1-e_low, 1+e_high) A_t) ]
 *
 * |o_i| = sum_t m_t; the loss is a token mean over the whole batch. See
 * docs/algorithms.md ("REINFORCE++").
 */
#define ALG_NAME "reinforce-pp"
#include "../shared/policy_loss.h"
#include "../shared/returns.h"

enum { HP_CLIP_LOW, HP_CLIP_HIGH, HP_KL_BETA, HP_GAMMA, HP_ADV_EPS, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_CLIP_LOW] = CLIP_LOW_HP,
    [HP_CLIP_HIGH] = CLIP_HIGH_HP,
    [HP_KL_BETA] = ALG_HP("kl_beta",
                          "beta: weight of the per-token k1 KL reward -beta (logp_old - logp_ref)",
                          0.01, 0.0, 100.0),
    [HP_GAMMA] = ALG_HP("gamma", "gamma: discount of the token return G_t = r_t + gamma G_{t+1}",
                        1.0, 0.0, 1.0),
    [HP_ADV_EPS] = ALG_HP("adv_eps", "eps: added to the batch std of the returns before dividing",
                          1e-8, 0.0, 1.0),
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  const double beta = hp[HP_KL_BETA];
  rlax_error *e = alg_check_advantage_inputs(fn, b, advantages, false, beta, NULL);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  const bool use_kl = beta > 0.0;
  const size_t count = (size_t)n * (size_t)t;
  double *g = malloc(count * sizeof *g);
  if (!g)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d x %d tokens",
                     fn, (int)n, (int)t);
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    token_rewards(mask + row, use_kl ? b->behavior_logprobs + row : NULL,
                  use_kl ? b->ref_logprobs + row : NULL, beta, b->rewards[i], t, g + row);
    discounted_returns(mask + row, g + row, hp[HP_GAMMA], t, g + row);
  }
  whiten(g, mask, count, hp[HP_ADV_EPS]);
  tokens_to_float(g, mask, count, advantages);
  free(g);
  return NULL;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  rlax_error *e =
      alg_check_loss_inputs("compute_loss", b, result, 0.0, NULL, ALG_RESULT_VALUES_FIELD);
  if (e) return e;
  /* ref_logprobs only feed the kl metric: the KL is in the advantages. */
  const clipped_policy_stats s =
      token_mean_clipped_policy(b, result->dloss_dlogprobs, hp[HP_CLIP_LOW], hp[HP_CLIP_HIGH]);
  const double tokens = s.tokens;
  result->loss = s.loss;
  alg_metric(result, "loss_policy", s.loss);
  alg_metric(result, "kl", b->ref_logprobs && tokens > 0.0 ? s.kl_sum / tokens : 0.0);
  alg_metric(result, "clip_fraction", tokens > 0.0 ? s.clipped / tokens : 0.0);
  alg_metric(result, "ratio_mean", tokens > 0.0 ? s.ratio_sum / tokens : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? s.adv_sum / tokens : 0.0);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "REINFORCE++ (Hu 2025): k1 KL token reward, batch-normalised returns, clipped ratio, token "
    "mean",
    compute_advantages, compute_loss,
    .formula = "r_t = -beta m_t (logp_old_t - ref_t) + [t = last] r_i (k1); "
               "G_t = sum_{t' >= t} gamma^(t'-t) r_t'; A_t = (G_t - mean_B G) / (std_B G + eps) "
               "over all counted tokens of the batch; rho_t = exp(logp_t - logp_old_t); "
               "L = (1/sum_i |o_i|) sum_i sum_t m_t [-min(rho_t A_t, clip(rho_t, 1-eps_low, "
               "1+eps_high) A_t)]",
    .needs_reference_logprobs = true, .needs_value_head = false, .min_group_size = 1)
