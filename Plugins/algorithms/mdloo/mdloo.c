/*
 * mdloo.c — Mirror Descent with Leave-One-Out estimation (MDLOO) as an rlax algorithm plugin.
 *
 * Apple, "Apple Intelligence Foundation Language Models" (arXiv 2407.21075, 2024), the RLHF
 * part of post-training (online RLHF algorithm MDLOO): K responses per prompt, a KL-shaped
 * sequence reward, a leave-one-out advantage, and a Mirror Descent Policy Optimization update
 * (Tomar et al. 2020, arXiv 2005.09814) — a KL regulariser to the previous policy instead of
 * PPO's clip:
 *
 *   R_i   = r_i - beta sum_t m_t (logp_old_t - ref_t)           (k1 on the sample, no gradient)
 *   A_i   = R_i - (1/(G-1)) sum_{j != i, j in G} R_j             (a group of one row: A_i = 0)
 *   rho_t = exp(logp_t - logp_old_t)
 *   KL_t  = exp(logp_old_t - logp_t) - (logp_old_t - logp_t) - 1  (k3 to the previous policy)
 *   L     = (1/N) sum_i (1/|o_i|) sum_t m_t [ -rho_t A_i + eta KL_t ]
 *
 * N is the number of sequences in the batch and |o_i| = sum_t m_t; a row with no counted
 * token contributes 0 (it still counts in N). KL_t is the k3 form with x = logp_old - logp, as
 * GRPO uses for its reference term: unbiased for KL(pi_theta || pi_old) (MDPO's direction) on
 * samples of pi_theta; on samples of pi_old it equals either direction to second order in
 * log rho. It is >= 0, 0 at rho = 1, and dKL_t/dlogp = 1 - 1/rho. See docs/algorithms.md ("MDLOO").
 */
#define ALG_NAME "mdloo"
#include "../shared/groups.h"
#include "../shared/policy_loss.h"

enum { HP_KL_BETA, HP_MD_ETA, HP_COUNT };

static const rlax_hyperparameter *const hyperparameters[HP_COUNT] = {
    [HP_KL_BETA] = ALG_HP("kl_beta",
                          "beta: R_i = r_i - beta sum_t (logp_old_t - logp_ref_t), the KL-shaped reward",
                          0.05, 0.0, 100.0),
    [HP_MD_ETA] = ALG_HP("md_eta",
                         "eta = 1/t_k: weight of the mirror-descent KL regulariser to pi_old, k3 of (logp_old - logp)",
                         0.1, 0.0, 100.0),
};

static rlax_error *compute_advantages(const double *hp, const rlax_rollout_batch *b,
                                      float *advantages) {
  static const char fn[] = "compute_advantages";
  const double beta = hp[HP_KL_BETA];
  const bool use_kl = beta > 0.0;
  rlax_error *e = alg_check_advantage_inputs(fn, b, advantages, true, beta, NULL);
  if (e) return e;
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  double *shaped = malloc((size_t)n * sizeof *shaped);
  if (!shaped)
    return alg_error(RLAX_ERROR_OUT_OF_MEMORY, ALG_NAME ": %s: out of memory for %d rows", fn,
                     (int)n);
  for (int32_t i = 0; i < n; i++) {
    const size_t row = (size_t)i * (size_t)t;
    double kl = 0.0; /* sum_t m_t (logp_old_t - ref_t): the sample's log pi_old(y)/pi_ref(y) */
    if (use_kl)
      for (int32_t j = 0; j < t; j++)
        if (mask[row + (size_t)j] != 0.0f)
          kl += mask[row + (size_t)j] *
                kl_k1(b->behavior_logprobs[row + (size_t)j], b->ref_logprobs[row + (size_t)j]);
    shaped[i] = (double)b->rewards[i] - beta * kl;
  }
  e = group_leave_one_out_advantages(fn, b, shaped, advantages);
  free(shaped);
  return e;
}

static rlax_error *compute_loss(const double *hp, const rlax_rollout_batch *b,
                                rlax_loss_result *result) {
  rlax_error *e =
      alg_check_loss_inputs("compute_loss", b, result, 0.0, NULL, ALG_RESULT_VALUES_FIELD);
  if (e) return e;
  const double eta = hp[HP_MD_ETA];
  const int32_t n = b->num_sequences, t = b->num_tokens;
  const float *mask = b->mask;
  const float *ref = b->ref_logprobs; /* only for the kl metric: the reference KL is in A */

  double loss = 0.0, loss_policy = 0.0, md_kl = 0.0;
  double tokens = 0.0, kl_sum = 0.0, ratio_sum = 0.0, adv_sum = 0.0;
  float *grad = result->dloss_dlogprobs;

  for (int32_t i = 0; i < n; i++) {
    const double len = alg_counted_length(b, i, grad); /* |o_i| */
    if (len == 0.0) continue;
    const size_t row = (size_t)i * (size_t)t;
    const double w = 1.0 / ((double)n * len); /* this row's share of the mean */
    double row_policy = 0.0, row_md = 0.0;
    for (int32_t j = 0; j < t; j++) {
      const size_t k = row + (size_t)j;
      const double m = mask[k];
      if (m == 0.0) {
        grad[k] = 0.0f;
        continue;
      }
      const double logp = b->logprobs[k], old = b->behavior_logprobs[k], adv = b->advantages[k];
      const double rho = exp(logp - old);
      /* k3 with x = logp_old - logp: KL_t = exp(x) - x - 1 = 1/rho + log rho - 1,
       * dKL_t/dlogp = 1 - 1/rho. */
      const double kl = kl_k3(logp, old, NULL);
      row_policy += m * -rho * adv;
      row_md += m * kl;
      grad[k] = (float)(w * m * (-rho * adv + eta * (1.0 - 1.0 / rho)));
      if (ref) kl_sum += m * kl_k1(old, ref[k]);
      tokens += m;
      ratio_sum += m * rho;
      adv_sum += m * adv;
    }
    loss_policy += w * row_policy;
    md_kl += w * row_md;
    loss += w * (row_policy + eta * row_md);
  }

  result->loss = loss;
  alg_metric(result, "loss_policy", loss_policy);
  alg_metric(result, "md_kl", md_kl);
  alg_metric(result, "kl", ref && tokens > 0.0 ? kl_sum / tokens : 0.0);
  alg_metric(result, "ratio_mean", tokens > 0.0 ? ratio_sum / tokens : 0.0);
  alg_metric(result, "advantage_mean", tokens > 0.0 ? adv_sum / tokens : 0.0);
  return NULL;
}

ALG_DEFINE_PLUGIN(
    hyperparameters, 0,
    "MDLOO (Apple AFM 2024): leave-one-out advantage on a KL-shaped reward, mirror-descent KL to "
    "the previous policy",
    compute_advantages, compute_loss,
    .formula = "R_i = r_i - beta sum_t m_t (logp_old_t - ref_t); "
               "A_i = R_i - (1/(G-1)) sum_{j != i in G} R_j (leave-one-out); "
               "rho_t = exp(logp_t - logp_old_t); "
               "L = (1/N) sum_i (1/|o_i|) sum_t m_t [-rho_t A_i + eta KL_t], "
               "KL_t = exp(logp_old_t - logp_t) - (logp_old_t - logp_t) - 1 (k3, mirror descent)",
    .needs_reference_logprobs = true, /* NULL is accepted only with kl_beta = 0 */
    .needs_value_head = false, .min_group_size = 2)
