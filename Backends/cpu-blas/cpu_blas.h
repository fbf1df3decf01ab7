/*
 * cpu-blas: internal declarations shared by the plugin's translation units.
 * Nothing here is exported (the plugin is built with -fvisibility=hidden).
 */
#ifndef CPU_BLAS_H
#define CPU_BLAS_H

#include <rlax/backend.h>
#include <rlax/plugin_support.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CB_BUFFER_MAGIC 0x63707562756621ull /* "cpubuf!" */

struct rlax_buffer {
  uint64_t magic;
  rlax_backend *owner;
  struct rlax_buffer *prev, *next;
  uint64_t size;
  void *data;
};

struct rlax_backend {
  uint64_t memory_limit; /* 0 = no cap */
  int threads;           /* OpenBLAS threads (process-wide), as of the last describe */
  char name[256];
  struct rlax_buffer *buffers; /* doubly-linked list of live buffers */
  /* counters */
  uint64_t ops;
  double flops;
  uint64_t bytes_moved;
  uint64_t bytes_to_device;
  uint64_t bytes_from_device;
  uint64_t memory_in_use;
  uint64_t peak_memory;
};

/* Makes an error (printf-style); the plugin's error_destroy frees it. */
__attribute__((format(printf, 2, 3))) rlax_error *cb_err(rlax_error_code code, const char *fmt,
                                                          ...);

/* Records one successful op. */
static inline rlax_error *cb_done(rlax_backend *be, double flops, double bytes) {
  be->ops++;
  be->flops += flops;
  be->bytes_moved += (uint64_t)bytes;
  return NULL;
}

/* Scratch memory for ops (not device buffers, not counted in memory_in_use). */
float *cb_scratch(size_t nfloats);

/* ---- ops (one function per table entry) ---- */
rlax_error *cb_matmul(rlax_backend *be, const rlax_matmul_args *args);
rlax_error *cb_unary(rlax_backend *be, const rlax_unary_args *args);
rlax_error *cb_binary(rlax_backend *be, const rlax_binary_args *args);
rlax_error *cb_fill(rlax_backend *be, const rlax_fill_args *args);
rlax_error *cb_reduce(rlax_backend *be, const rlax_reduce_args *args);
rlax_error *cb_softmax(rlax_backend *be, const rlax_softmax_args *args);
rlax_error *cb_rmsnorm_forward(rlax_backend *be, const rlax_rmsnorm_forward_args *args);
rlax_error *cb_rmsnorm_backward(rlax_backend *be, const rlax_rmsnorm_backward_args *args);
rlax_error *cb_rope_forward(rlax_backend *be, const rlax_rope_forward_args *args);
rlax_error *cb_rope_backward(rlax_backend *be, const rlax_rope_backward_args *args);
rlax_error *cb_swiglu_forward(rlax_backend *be, const rlax_swiglu_forward_args *args);
rlax_error *cb_swiglu_backward(rlax_backend *be, const rlax_swiglu_backward_args *args);
rlax_error *cb_attention_forward(rlax_backend *be, const rlax_attention_forward_args *args);
rlax_error *cb_attention_backward(rlax_backend *be, const rlax_attention_backward_args *args);
rlax_error *cb_embedding_forward(rlax_backend *be, const rlax_embedding_forward_args *args);
rlax_error *cb_embedding_backward(rlax_backend *be, const rlax_embedding_backward_args *args);
rlax_error *cb_logsoftmax_gather_forward(rlax_backend *be,
                                         const rlax_logsoftmax_gather_forward_args *args);
rlax_error *cb_logsoftmax_gather_backward(rlax_backend *be,
                                          const rlax_logsoftmax_gather_backward_args *args);
rlax_error *cb_adamw(rlax_backend *be, const rlax_adamw_args *args);

#endif /* CPU_BLAS_H */
