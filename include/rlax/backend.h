/*
 * rlax/backend.h — the device-backend plugin ABI.
 *
 * A backend owns device memory and runs tensor ops on it. The host never hands a backend a
 * raw host pointer in an op: it allocates device buffers through the backend, copies host
 * data in and out explicitly (buffer_copy_from_host / buffer_copy_to_host), and describes
 * every operand of an op with an rlax_tensor (buffer, byte offset, dtype, shape, strides), so
 * that a real accelerator, or a simulator that accounts memory and time, fits the same ABI.
 *
 * Entry symbol:   RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(
 *                     const rlax_host_services *services);
 * It returns a static table, or NULL when the host's ABI major differs from the plugin's (it
 * says why through services->log first). `services` stays valid while the library is loaded.
 *
 * Threading: `create` is thread-safe. One rlax_backend instance is used by one thread at a time (the host
 * serialises); distinct instances are independent and may be used from different threads.
 *
 * Ops are synchronous or stream-ordered: results of an op are visible to every later op and
 * to buffer_copy_to_host on the same backend; `synchronize` waits for all of them.
 *
 * Conventions shared by all ops:
 *  - fp32 (RLAX_DTYPE_F32) is required of every backend for every op; index operands
 *    (ids, targets, positions) are RLAX_DTYPE_I32. Other dtypes only where the backend lists
 *    them in rlax_device_desc.dtypes; otherwise UNIMPLEMENTED.
 *  - Shapes are exact: a mismatch is INVALID_ARGUMENT whose message names the op, the operand
 *    and the expected and found sizes, e.g. "matmul: b.shape[0] is 5, expected K = 4".
 *  - Every element a descriptor addresses must lie inside its buffer (INVALID_ARGUMENT).
 *  - Strides are in elements and may be 0 (broadcast) on inputs; outputs must not overlap
 *    themselves. An output may be the very same view as an input only where the op says so.
 *  - Backward ops ACCUMULATE into their gradient outputs (dx += ...), as in llm.c: the host
 *    zeroes a gradient with `fill` before the first contribution.
 *  - A NULL op in the table means the backend does not support it; the host reports that.
 *  - A dtype the backend does not list is UNIMPLEMENTED; a dtype an operand can never have
 *    (an F32 index operand, an invalid enum value) is INVALID_ARGUMENT.
 *  - A backend whose device is absent (rlax_device_desc.present == false, as gpu-stub) may
 *    list no dtypes; every memory function and op then returns UNAVAILABLE.
 */
#ifndef RLAX_BACKEND_H
#define RLAX_BACKEND_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RLAX_MAX_RANK 8

typedef struct rlax_backend rlax_backend; /* opaque: one device context */
typedef struct rlax_buffer rlax_buffer;   /* opaque: one allocation of device memory */

/* A view of device memory. Filled in by the host; borrowed by the backend for one call. */
typedef struct rlax_tensor {
  size_t struct_size;
  rlax_buffer *buffer;
  uint64_t offset; /* bytes from the start of the buffer to element [0, ..., 0] */
  rlax_dtype dtype;
  int32_t rank; /* 0 ... RLAX_MAX_RANK; rank 0 is a scalar */
  int64_t shape[RLAX_MAX_RANK];
  int64_t strides[RLAX_MAX_RANK]; /* in elements, >= 0 */
} rlax_tensor;

/* ---------------------------------------------------------------------------------------- */
/* Describing the device                                                                     */

enum {
  RLAX_CAP_SIMULATED_CLOCK = 1u << 0, /* counters.simulated_seconds is meaningful */
  RLAX_CAP_MEMORY_LIMIT = 1u << 1,    /* allocation beyond memory_bytes fails OUT_OF_MEMORY */
  RLAX_CAP_BF16_MATMUL = 1u << 2,     /* matmul accepts bf16 operands */
  RLAX_CAP_PREEMPTION = 1u << 3       /* ops may fail with PREEMPTED */
};

typedef struct rlax_device_desc {
  size_t struct_size;
  const char *name;     /* e.g. "OpenBLAS 0.3.21 on x86_64, 2 threads"; valid while the backend lives */
  const char *platform; /* "cpu", "tpu", "gpu", ... */
  bool present;         /* false when the device is described but not there (gpu-stub) */
  int32_t device_count;
  uint64_t memory_bytes;                /* capacity; 0 if unbounded/unknown */
  double peak_flops_f32;                /* FLOP/s; 0 if unknown */
  double peak_flops_bf16;               /* FLOP/s; 0 if unknown */
  double memory_bandwidth_bytes_per_s; /* 0 if unknown */
  uint32_t dtypes;                      /* RLAX_DTYPE_BIT mask of supported storage dtypes */
  uint64_t capabilities;                /* RLAX_CAP_* */
} rlax_device_desc;

/* Counters since create or the last reset_counters. */
typedef struct rlax_counters {
  size_t struct_size;
  uint64_t ops;               /* op calls that succeeded */
  double flops;               /* floating-point operations the ops performed (2 per FMA) */
  uint64_t bytes_moved;       /* bytes ops read from and wrote to device memory */
  uint64_t bytes_to_device;   /* buffer_copy_from_host */
  uint64_t bytes_from_device; /* buffer_copy_to_host */
  uint64_t memory_in_use;     /* bytes allocated now */
  uint64_t peak_memory;       /* most bytes allocated at once */
  double simulated_seconds;   /* simulated device time; < 0 without RLAX_CAP_SIMULATED_CLOCK */
  /* The simulated time split by what bounded each op (sums to simulated_seconds minus
   * per-op overheads); < 0 without RLAX_CAP_SIMULATED_CLOCK. */
  double simulated_compute_seconds;
  double simulated_memory_seconds;
  double simulated_collective_seconds;
} rlax_counters;

typedef struct rlax_backend_create_args {
  size_t struct_size;
  /* --backend-opt key=value pairs; borrowed for the call. An unknown key is
   * INVALID_ARGUMENT naming the key and the keys the backend knows. */
  const char *const *option_keys;
  const char *const *option_values;
  size_t num_options;
} rlax_backend_create_args;

/* ---------------------------------------------------------------------------------------- */
/* Op arguments. Each struct is filled in by the host and borrowed for one call.             */

/* c = alpha * op(a) @ op(b) + beta * c, where op transposes the last two axes when asked.
 *   a: [M,K] (transpose_a: [K,M]), or [batch,M,K] / [batch,K,M]
 *   b: [K,N] (transpose_b: [N,K]), or [batch,K,N] / [batch,N,K]
 *   c: [M,N] or [batch,M,N]
 * A rank-2 a or b with a rank-3 c is used for every batch. beta = 0 ignores c's old contents
 * (even NaN). Any strides are allowed. c must not overlap a or b. FLOPs: 2*batch*M*N*K. */
typedef struct rlax_matmul_args {
  size_t struct_size;
  const rlax_tensor *a;
  const rlax_tensor *b;
  const rlax_tensor *c;
  bool transpose_a;
  bool transpose_b;
  float alpha;
  float beta;
} rlax_matmul_args;

typedef enum rlax_unary_op {
  RLAX_UNARY_COPY = 0,       /* out = x; converts when x and out dtypes differ (f32 <-> bf16) */
  RLAX_UNARY_AFFINE = 1,     /* out = alpha * x + beta */
  RLAX_UNARY_NEG = 2,        /* out = -x */
  RLAX_UNARY_EXP = 3,
  RLAX_UNARY_LOG = 4,
  RLAX_UNARY_SQRT = 5,
  RLAX_UNARY_RSQRT = 6,      /* 1 / sqrt(x) */
  RLAX_UNARY_SQUARE = 7,
  RLAX_UNARY_ABS = 8,
  RLAX_UNARY_TANH = 9,
  RLAX_UNARY_SILU = 10,      /* x * sigmoid(x) */
  RLAX_UNARY_RECIPROCAL = 11 /* 1 / x */
} rlax_unary_op;

/* out = f(x), elementwise. x and out have the same shape (x may broadcast with stride 0).
 * out may be the very same view as x (in place). */
typedef struct rlax_unary_args {
  size_t struct_size;
  rlax_unary_op op;
  const rlax_tensor *x;
  const rlax_tensor *out;
  float alpha; /* used by AFFINE */
  float beta;  /* used by AFFINE */
} rlax_unary_args;

typedef enum rlax_binary_op {
  RLAX_BINARY_ADD = 0,
  RLAX_BINARY_SUB = 1,
  RLAX_BINARY_MUL = 2,
  RLAX_BINARY_DIV = 3,
  RLAX_BINARY_MAX = 4,
  RLAX_BINARY_MIN = 5
} rlax_binary_op;

/* out = a (op) b, elementwise, all three with out's shape (a, b may broadcast with stride 0).
 * out may be the very same view as a or b (e.g. out += b). */
typedef struct rlax_binary_args {
  size_t struct_size;
  rlax_binary_op op;
  const rlax_tensor *a;
  const rlax_tensor *b;
  const rlax_tensor *out;
} rlax_binary_args;

/* out[...] = value. */
typedef struct rlax_fill_args {
  size_t struct_size;
  const rlax_tensor *out;
  float value;
} rlax_fill_args;

typedef enum rlax_reduce_op {
  RLAX_REDUCE_SUM = 0,
  RLAX_REDUCE_MEAN = 1,
  RLAX_REDUCE_MAX = 2,
  RLAX_REDUCE_SUM_SQUARES = 3
} rlax_reduce_op;

/* Reduces x along `axis`; out has x's rank and shape except shape[axis] == 1. */
typedef struct rlax_reduce_args {
  size_t struct_size;
  rlax_reduce_op op;
  const rlax_tensor *x;
  const rlax_tensor *out;
  int32_t axis;
} rlax_reduce_args;

/* out = softmax(x) along the last axis; same shape; out may be x. */
typedef struct rlax_softmax_args {
  size_t struct_size;
  const rlax_tensor *x;
  const rlax_tensor *out;
} rlax_softmax_args;

/* RMSNorm over the last axis of x [rows, D]:
 *   rstd[r] = 1 / sqrt(mean_d x[r,d]^2 + eps);  out[r,d] = x[r,d] * rstd[r] * weight[d]
 * weight: [D]; out: [rows, D]; rstd: [rows] (written; backward needs it). */
typedef struct rlax_rmsnorm_forward_args {
  size_t struct_size;
  const rlax_tensor *x;
  const rlax_tensor *weight;
  const rlax_tensor *out;
  const rlax_tensor *rstd;
  float eps;
} rlax_rmsnorm_forward_args;

/* Accumulates dx [rows, D] and dweight [D] (dweight may be NULL) from dout [rows, D]. */
typedef struct rlax_rmsnorm_backward_args {
  size_t struct_size;
  const rlax_tensor *x;
  const rlax_tensor *weight;
  const rlax_tensor *rstd;
  const rlax_tensor *dout;
  const rlax_tensor *dx;
  const rlax_tensor *dweight;
} rlax_rmsnorm_backward_args;

/* Rotary position embedding, "rotate half" form (GPT-NeoX, Llama): x [B,T,H,D], D even;
 * for i < D/2 the pair (x[i], x[i + D/2]) is rotated by angle pos * theta^(-2i/D):
 *   out[i]       = x[i] cos - x[i + D/2] sin
 *   out[i + D/2] = x[i] sin + x[i + D/2] cos
 * positions: I32 [B,T] (absolute position of each token). out [B,T,H,D] may be x. */
typedef struct rlax_rope_forward_args {
  size_t struct_size;
  const rlax_tensor *x;
  const rlax_tensor *positions;
  const rlax_tensor *out;
  float theta;
} rlax_rope_forward_args;

/* Accumulates dx [B,T,H,D] += R(-angle) dout: the transpose of the forward rotation. */
typedef struct rlax_rope_backward_args {
  size_t struct_size;
  const rlax_tensor *dout;
  const rlax_tensor *positions;
  const rlax_tensor *dx;
  float theta;
} rlax_rope_backward_args;

/* SwiGLU gate: out = silu(gate) * up; gate, up, out: [N, F]. */
typedef struct rlax_swiglu_forward_args {
  size_t struct_size;
  const rlax_tensor *gate;
  const rlax_tensor *up;
  const rlax_tensor *out;
} rlax_swiglu_forward_args;

/* Accumulates dgate and dup [N, F] from dout [N, F]. */
typedef struct rlax_swiglu_backward_args {
  size_t struct_size;
  const rlax_tensor *gate;
  const rlax_tensor *up;
  const rlax_tensor *dout;
  const rlax_tensor *dgate;
  const rlax_tensor *dup;
} rlax_swiglu_backward_args;

/* Causal scaled-dot-product attention with grouped KV heads.
 *   q: [B,T,Hq,D]  k, v: [B,S,Hkv,D]  out: [B,T,Hq,D]; Hq % Hkv == 0, and query head h reads
 *   KV head h / (Hq / Hkv).
 *   q_positions: I32 [B,T], the key index each query sits at; NULL means S - T + t (the
 *   queries are the last T of the S keys: training has S == T, decoding appends to a cache).
 *   k_start: I32 [B], the first valid key of each row (left padding); NULL means 0.
 *   Query (b,t) attends key s iff k_start[b] <= s <= q_positions[b,t] (and s < S).
 *   p = softmax_s(scale * q.k), out = sum_s p v. A query that sees no key gets out = 0 and
 *   lse = -inf.
 *   lse: F32 [B,Hq,T] = logsumexp_s(scale * q.k) over visible keys (written; backward needs
 *   it); may be NULL when no backward follows. */
typedef struct rlax_attention_forward_args {
  size_t struct_size;
  const rlax_tensor *q;
  const rlax_tensor *k;
  const rlax_tensor *v;
  const rlax_tensor *out;
  const rlax_tensor *lse;
  const rlax_tensor *q_positions;
  const rlax_tensor *k_start;
  float scale;
} rlax_attention_forward_args;

/* Accumulates dq, dk, dv (shapes of q, k, v) from dout; q, k, v, out, lse, q_positions,
 * k_start and scale as in the forward call that produced out and lse. */
typedef struct rlax_attention_backward_args {
  size_t struct_size;
  const rlax_tensor *q;
  const rlax_tensor *k;
  const rlax_tensor *v;
  const rlax_tensor *out;
  const rlax_tensor *lse;
  const rlax_tensor *dout;
  const rlax_tensor *q_positions;
  const rlax_tensor *k_start;
  const rlax_tensor *dq;
  const rlax_tensor *dk;
  const rlax_tensor *dv;
  float scale;
} rlax_attention_backward_args;

/* out[n, :] = table[ids[n], :]; table [V, D], ids I32 [N], out [N, D]. An id outside [0, V)
 * is INVALID_ARGUMENT naming n and the id. */
typedef struct rlax_embedding_forward_args {
  size_t struct_size;
  const rlax_tensor *table;
  const rlax_tensor *ids;
  const rlax_tensor *out;
} rlax_embedding_forward_args;

/* dtable[ids[n], :] += dout[n, :] (scatter-add; repeated ids add up). */
typedef struct rlax_embedding_backward_args {
  size_t struct_size;
  const rlax_tensor *ids;
  const rlax_tensor *dout;
  const rlax_tensor *dtable;
} rlax_embedding_backward_args;

/* Log-softmax with gather of the target's log-prob, row by row:
 *   lse[n] = logsumexp_v logits[n, v];  logprobs[n] = logits[n, targets[n]] - lse[n]
 * logits [N, V], targets I32 [N] (in [0, V)), logprobs [N], lse [N] (may be NULL). */
typedef struct rlax_logsoftmax_gather_forward_args {
  size_t struct_size;
  const rlax_tensor *logits;
  const rlax_tensor *targets;
  const rlax_tensor *logprobs;
  const rlax_tensor *lse;
} rlax_logsoftmax_gather_forward_args;

/* Accumulates dlogits[n, v] += dlogprobs[n] * (1[v == targets[n]] - exp(logits[n, v] - lse[n])). */
typedef struct rlax_logsoftmax_gather_backward_args {
  size_t struct_size;
  const rlax_tensor *logits;
  const rlax_tensor *targets;
  const rlax_tensor *lse;
  const rlax_tensor *dlogprobs;
  const rlax_tensor *dlogits;
} rlax_logsoftmax_gather_backward_args;

/* One AdamW step (Loshchilov & Hutter), in place on param, m, v (all of grad's shape):
 *   g = grad_scale * grad
 *   m = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *   param -= lr * ( (m / (1 - beta1^step)) / (sqrt(v / (1 - beta2^step)) + eps)
 *                   + weight_decay * param )
 * step >= 1. grad_scale carries gradient clipping by global norm (and loss scaling). */
typedef struct rlax_adamw_args {
  size_t struct_size;
  const rlax_tensor *param;
  const rlax_tensor *grad;
  const rlax_tensor *m;
  const rlax_tensor *v;
  float lr;
  float beta1;
  float beta2;
  float eps;
  float weight_decay;
  float grad_scale;
  int64_t step;
} rlax_adamw_args;

/* Sums `tensor` (F32, contiguous) element-wise across the data-parallel replicas of the
 * device (a slice's chips), leaving the sum in every replica. A backend with one replica, or
 * one that simulates replicas holding identical data, leaves the values unchanged and only
 * accounts the cost (tpu-sim: the torus all-reduce time of the tensor's bytes). */
typedef struct rlax_all_reduce_args {
  size_t struct_size;
  const rlax_tensor *tensor;
} rlax_all_reduce_args;

/* ---------------------------------------------------------------------------------------- */
/* The table                                                                                 */

typedef struct rlax_backend_api {
  /* -- the common prefix (rlax_api_prefix) -- */
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  rlax_error_code (*error_code)(const rlax_error *error);
  const char *(*error_message)(const rlax_error *error);
  void (*error_destroy)(rlax_error *error);

  /* -- lifetime -- */
  /* Creates a backend. On success *out is owned by the host, released with destroy. */
  rlax_error *(*create)(const rlax_backend_create_args *args, rlax_backend **out);
  /* Frees the backend and every buffer it still holds. Accepts NULL. */
  void (*destroy)(rlax_backend *backend);
  /* Fills *out up to out->struct_size (set by the host). */
  rlax_error *(*describe)(rlax_backend *backend, rlax_device_desc *out);

  /* -- memory -- */
  /* Allocates `size_bytes` (> 0) of device memory, contents undefined. *out is owned by the
   * host, released with buffer_free (or with destroy of the backend). */
  rlax_error *(*buffer_allocate)(rlax_backend *backend, uint64_t size_bytes, rlax_buffer **out);
  /* Accepts NULL. */
  void (*buffer_free)(rlax_backend *backend, rlax_buffer *buffer);
  /* Copies nbytes from host memory src into the buffer at byte offset; src is borrowed for
   * the call and may be reused as soon as the call returns. */
  rlax_error *(*buffer_copy_from_host)(rlax_backend *backend, rlax_buffer *buffer,
                                       uint64_t offset, const void *src, uint64_t nbytes);
  /* Copies nbytes at byte offset of the buffer into host memory dst, after all earlier ops. */
  rlax_error *(*buffer_copy_to_host)(rlax_backend *backend, rlax_buffer *buffer,
                                     uint64_t offset, void *dst, uint64_t nbytes);

  /* -- ops (NULL = not supported) -- */
  rlax_error *(*matmul)(rlax_backend *backend, const rlax_matmul_args *args);
  rlax_error *(*unary)(rlax_backend *backend, const rlax_unary_args *args);
  rlax_error *(*binary)(rlax_backend *backend, const rlax_binary_args *args);
  rlax_error *(*fill)(rlax_backend *backend, const rlax_fill_args *args);
  rlax_error *(*reduce)(rlax_backend *backend, const rlax_reduce_args *args);
  rlax_error *(*softmax)(rlax_backend *backend, const rlax_softmax_args *args);
  rlax_error *(*rmsnorm_forward)(rlax_backend *backend, const rlax_rmsnorm_forward_args *args);
  rlax_error *(*rmsnorm_backward)(rlax_backend *backend, const rlax_rmsnorm_backward_args *args);
  rlax_error *(*rope_forward)(rlax_backend *backend, const rlax_rope_forward_args *args);
  rlax_error *(*rope_backward)(rlax_backend *backend, const rlax_rope_backward_args *args);
  rlax_error *(*swiglu_forward)(rlax_backend *backend, const rlax_swiglu_forward_args *args);
  rlax_error *(*swiglu_backward)(rlax_backend *backend, const rlax_swiglu_backward_args *args);
  rlax_error *(*attention_forward)(rlax_backend *backend, const rlax_attention_forward_args *args);
  rlax_error *(*attention_backward)(rlax_backend *backend, const rlax_attention_backward_args *args);
  rlax_error *(*embedding_forward)(rlax_backend *backend, const rlax_embedding_forward_args *args);
  rlax_error *(*embedding_backward)(rlax_backend *backend, const rlax_embedding_backward_args *args);
  rlax_error *(*logsoftmax_gather_forward)(rlax_backend *backend,
                                           const rlax_logsoftmax_gather_forward_args *args);
  rlax_error *(*logsoftmax_gather_backward)(rlax_backend *backend,
                                            const rlax_logsoftmax_gather_backward_args *args);
  rlax_error *(*adamw)(rlax_backend *backend, const rlax_adamw_args *args);
  /* Waits until every earlier op has finished. */
  rlax_error *(*synchronize)(rlax_backend *backend);

  /* -- counters -- */
  /* Fills *out up to out->struct_size (set by the host). */
  rlax_error *(*get_counters)(rlax_backend *backend, rlax_counters *out);
  /* Zeroes every counter except memory_in_use; peak_memory restarts from memory_in_use. */
  rlax_error *(*reset_counters)(rlax_backend *backend);

  /* -- appended in ABI 1.0, optional -- */
  /* Data-parallel gradient all-reduce (see rlax_all_reduce_args); NULL: single replica. */
  rlax_error *(*all_reduce)(rlax_backend *backend, const rlax_all_reduce_args *args);
} rlax_backend_api;

/* The smallest table a host of this major accepts: up to and including reset_counters. */
#define RLAX_BACKEND_API_MIN_SIZE \
  (offsetof(rlax_backend_api, reset_counters) + sizeof(void *))

typedef const rlax_backend_api *(*rlax_get_backend_api_fn)(const rlax_host_services *services);
#define RLAX_BACKEND_ENTRY_SYMBOL "rlax_get_backend_api"

#ifdef __cplusplus
}
#endif
#endif /* RLAX_BACKEND_H */
