/*
 * tpu-sim: internal declarations shared by the plugin's translation units. Nothing here is
 * exported (the plugin is built with -fvisibility=hidden).
 *
 * tpu-sim is a costing and rounding layer over a delegate backend (cpu-blas, loaded with
 * dlopen through the same ABI): the delegate computes, tpu-sim accounts HBM, rounds matmul
 * inputs to bf16 as the MXU does, advances a roofline clock and injects preemptions.
 */
#ifndef TPU_SIM_H
#define TPU_SIM_H

#include <rlax/backend.h>
#include <rlax/plugin_support.h>

#include "cost.h"

#define TS_NAME "tpu-sim"
#define TS_BUFFER_MAGIC 0x7470752d73696dull /* "tpu-sim" */

/* One allocation: HBM accounting around a buffer of the delegate. */
struct rlax_buffer {
  uint64_t magic;
  rlax_backend *owner;
  struct rlax_buffer *prev, *next;
  uint64_t size;
  rlax_buffer *inner; /* the delegate's buffer */
};

/* A delegate buffer kept between matmuls for rounding operands (not counted as HBM). */
typedef struct ts_scratch {
  rlax_buffer *buffer;
  uint64_t size;
} ts_scratch;

struct rlax_backend {
  ts_config cfg;
  char name[192];
  /* the delegate */
  void *library;                 /* dlopen handle */
  const rlax_backend_api *d;     /* its table */
  rlax_backend *inner;           /* its backend */
  char delegate_path[1024];
  ts_scratch half, round_a, round_b;
  /* memory */
  struct rlax_buffer *buffers; /* doubly-linked list of live buffers */
  uint64_t memory_in_use;
  uint64_t peak_memory;
  /* the simulated clock since create (drives preempt_every; reset_counters leaves it) */
  double clock;
  /* preemption */
  double next_preemption; /* simulated time at or after which the next op is preempted */
  uint64_t op_attempts;   /* op calls that reached the preemption check, since create */
  /* counters */
  uint64_t ops;
  double flops;
  uint64_t bytes_moved;
  uint64_t bytes_to_device;
  uint64_t bytes_from_device;
  /* simulated time since create or reset_counters, and its split by bound (overheads are in
   * sim_seconds only) */
  double sim_seconds;
  double sim_compute_seconds;
  double sim_memory_seconds;
  double sim_collective_seconds;
};

/* Makes an error (printf-style); the plugin's error_destroy frees it. */
__attribute__((format(printf, 2, 3))) rlax_error *ts_err(rlax_error_code code, const char *fmt,
                                                          ...);

/* Re-wraps an error of the delegate as our own (prefix may be NULL) and destroys theirs. */
rlax_error *ts_wrap(const rlax_backend_api *d, rlax_error *e, const char *prefix);

/* True when b is a live buffer of this backend. */
bool ts_buffer_ok(const rlax_backend *be, const struct rlax_buffer *b);

/* The preemption check every op makes before it touches anything. */
rlax_error *ts_preempt_check(rlax_backend *be, const char *op);

/* Records one successful op: counters, the simulated clock and the bucket of cost.bound. */
void ts_account(rlax_backend *be, double flops, double bytes, ts_cost cost);

/* ---- ops (one function per table entry; ops.c) ---- */
rlax_error *ts_matmul(rlax_backend *be, const rlax_matmul_args *args);
rlax_error *ts_unary(rlax_backend *be, const rlax_unary_args *args);
rlax_error *ts_binary(rlax_backend *be, const rlax_binary_args *args);
rlax_error *ts_fill(rlax_backend *be, const rlax_fill_args *args);
rlax_error *ts_reduce(rlax_backend *be, const rlax_reduce_args *args);
rlax_error *ts_softmax(rlax_backend *be, const rlax_softmax_args *args);
rlax_error *ts_rmsnorm_forward(rlax_backend *be, const rlax_rmsnorm_forward_args *args);
rlax_error *ts_rmsnorm_backward(rlax_backend *be, const rlax_rmsnorm_backward_args *args);
rlax_error *ts_rope_forward(rlax_backend *be, const rlax_rope_forward_args *args);
rlax_error *ts_rope_backward(rlax_backend *be, const rlax_rope_backward_args *args);
rlax_error *ts_swiglu_forward(rlax_backend *be, const rlax_swiglu_forward_args *args);
rlax_error *ts_swiglu_backward(rlax_backend *be, const rlax_swiglu_backward_args *args);
rlax_error *ts_attention_forward(rlax_backend *be, const rlax_attention_forward_args *args);
rlax_error *ts_attention_backward(rlax_backend *be, const rlax_attention_backward_args *args);
rlax_error *ts_embedding_forward(rlax_backend *be, const rlax_embedding_forward_args *args);
rlax_error *ts_embedding_backward(rlax_backend *be, const rlax_embedding_backward_args *args);
rlax_error *ts_logsoftmax_gather_forward(rlax_backend *be,
                                         const rlax_logsoftmax_gather_forward_args *args);
rlax_error *ts_logsoftmax_gather_backward(rlax_backend *be,
                                          const rlax_logsoftmax_gather_backward_args *args);
rlax_error *ts_adamw(rlax_backend *be, const rlax_adamw_args *args);
rlax_error *ts_all_reduce(rlax_backend *be, const rlax_all_reduce_args *args);

#endif /* TPU_SIM_H */
