/*
 * tpu-sim: ops. Every op checks for an injected preemption first, translates its tensor
 * descriptors to the delegate's buffers, runs on the delegate, then is costed on the
 * roofline clock. matmul also rounds its inputs to bf16 first, as the MXU does.
 */
#include "tpu_sim.h"

#include <inttypes.h>
#include <stddef.h>

/* ---------------------------------------------------------------------------------------- */
/* Descriptor translation                                                                    */

typedef struct ts_field {
  size_t offset; /* offsetof the `const rlax_tensor *` field in the args struct */
  const char *name;
} ts_field;

/* Copies *t into *local with the buffer replaced by the delegate's. A descriptor too short to
 * hold a buffer, or a NULL buffer, is passed on unchanged: the delegate reports it. */
static rlax_error *translate_tensor(rlax_backend *be, const char *op, const char *name,
                                    const rlax_tensor *t, rlax_tensor *local,
                                    const rlax_tensor **out) {
  *out = t;
  if (!t || !RLAX_STRUCT_HAS_FIELD(rlax_tensor, t->struct_size, buffer) || !t->buffer)
    return NULL;
  if (!ts_buffer_ok(be, t->buffer))
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.buffer is not a live buffer of this backend",
                  op, name);
  memset(local, 0, sizeof *local);
  memcpy(local, t, t->struct_size < sizeof *local ? t->struct_size : sizeof *local);
  if (t->struct_size > sizeof *local) local->struct_size = sizeof *local;
  local->buffer = t->buffer->inner;
  *out = local;
  return NULL;
}

/* Checks backend and args, makes the preemption check, then copies the args struct (as far as
 * its struct_size goes) into `local` with every covered tensor translated into `tensors`. */
static rlax_error *begin_op(rlax_backend *be, const char *op, const void *args, size_t size,
                            void *local, const ts_field *fields, size_t nfields,
                            rlax_tensor *tensors) {
  if (!be) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: backend is NULL", op);
  if (!args) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: args is NULL", op);
  rlax_error *e = ts_preempt_check(be, op);
  if (e) return e;
  const size_t have = *(const size_t *)args;
  const size_t n = have < size ? have : size;
  memset(local, 0, size);
  memcpy(local, args, n);
  if (have > size) *(size_t *)local = size;
  for (size_t i = 0; i < nfields; i++) {
    if (fields[i].offset + sizeof(void *) > n) continue; /* not covered: the delegate says so */
    const rlax_tensor *t;
    memcpy(&t, (const char *)args + fields[i].offset, sizeof t);
    const rlax_tensor *translated;
    e = translate_tensor(be, op, fields[i].name, t, &tensors[i], &translated);
    if (e) return e;
    memcpy((char *)local + fields[i].offset, &translated, sizeof translated);
  }
  return NULL;
}

typedef struct ts_mark {
  double flops;
  uint64_t bytes;
} ts_mark;

static void delegate_mark(rlax_backend *be, ts_mark *m) {
  rlax_counters c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  rlax_error *e = be->d->get_counters(be->inner, &c);
  if (e) be->d->error_destroy(e);
  m->flops = c.flops;
  m->bytes = c.bytes_moved;
}

/* How an op is costed beyond the delegate's own count of FLOPs and bytes. */
typedef enum { COST_VPU, COST_ATTENTION_FORWARD, COST_ATTENTION_BACKWARD } cost_kind;

/* Work the delegate counted for one op is costed as VPU FLOPs and HBM bytes; attention adds its
 * q.k / p.v products on the MXU (padded, dense: 2 products forward, 5 backward) and its
 * softmax as VPU work (5 FLOPs per score forward, 10 backward). */
static ts_cost op_cost(const rlax_backend *be, cost_kind kind, const void *args, double flops,
                       double bytes) {
  if (kind == COST_VPU) return ts_op_cost(&be->cfg, 0.0, flops, bytes);
  const rlax_tensor *q = kind == COST_ATTENTION_FORWARD
                             ? ((const rlax_attention_forward_args *)args)->q
                             : ((const rlax_attention_backward_args *)args)->q;
  const rlax_tensor *k = kind == COST_ATTENTION_FORWARD
                             ? ((const rlax_attention_forward_args *)args)->k
                             : ((const rlax_attention_backward_args *)args)->k;
  /* the delegate validated q [B,T,Hq,D] and k [B,S,Hkv,D] */
  const int64_t B = q->shape[0], T = q->shape[1], Hq = q->shape[2], D = q->shape[3];
  const int64_t S = k->shape[1];
  const int products = kind == COST_ATTENTION_FORWARD ? 2 : 5;
  const double mxu = ts_attention_mxu_flops(&be->cfg, B, Hq, T, S, D, products);
  const double vpu = (kind == COST_ATTENTION_FORWARD ? 5.0 : 10.0) * (double)B * (double)Hq *
                     (double)T * (double)S;
  return ts_op_cost(&be->cfg, mxu, vpu, bytes);
}

#define F(type, field) {offsetof(type, field), #field}
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

/* An op forwarded unchanged to the delegate and costed by `kind`. */
#define FORWARD_OP(op, type, kind, ...)                                                       \
  rlax_error *ts_##op(rlax_backend *be, const type *args) {                                   \
    static const ts_field fields[] = {__VA_ARGS__};                                           \
    rlax_tensor tensors[NFIELDS(fields)];                                                     \
    type local;                                                                               \
    rlax_error *e = begin_op(be, #op, args, sizeof(type), &local, fields, NFIELDS(fields),    \
                             tensors);                                                        \
    if (e) return e;                                                                          \
    if (!RLAX_STRUCT_HAS_FIELD(rlax_backend_api, be->d->struct_size, op) || !be->d->op)       \
      return ts_err(RLAX_ERROR_UNIMPLEMENTED, "%s: the delegate %s does not support it", #op, \
                    be->delegate_path);                                                       \
    ts_mark before, after;                                                                    \
    delegate_mark(be, &before);                                                               \
    e = be->d->op(be->inner, &local);                                                         \
    if (e) return ts_wrap(be->d, e, NULL);                                                    \
    delegate_mark(be, &after);                                                                \
    const double flops = after.flops - before.flops;                                          \
    const double bytes = (double)(after.bytes - before.bytes);                                \
    ts_account(be, flops, bytes, op_cost(be, (kind), args, flops, bytes));                    \
    return NULL;                                                                              \
  }

FORWARD_OP(unary, rlax_unary_args, COST_VPU, F(rlax_unary_args, x), F(rlax_unary_args, out))
FORWARD_OP(binary, rlax_binary_args, COST_VPU, F(rlax_binary_args, a), F(rlax_binary_args, b),
           F(rlax_binary_args, out))
FORWARD_OP(fill, rlax_fill_args, COST_VPU, F(rlax_fill_args, out))
FORWARD_OP(reduce, rlax_reduce_args, COST_VPU, F(rlax_reduce_args, x), F(rlax_reduce_args, out))
FORWARD_OP(softmax, rlax_softmax_args, COST_VPU, F(rlax_softmax_args, x),
           F(rlax_softmax_args, out))
FORWARD_OP(rmsnorm_forward, rlax_rmsnorm_forward_args, COST_VPU,
           F(rlax_rmsnorm_forward_args, x), F(rlax_rmsnorm_forward_args, weight),
           F(rlax_rmsnorm_forward_args, out), F(rlax_rmsnorm_forward_args, rstd))
FORWARD_OP(rmsnorm_backward, rlax_rmsnorm_backward_args, COST_VPU,
           F(rlax_rmsnorm_backward_args, x), F(rlax_rmsnorm_backward_args, weight),
           F(rlax_rmsnorm_backward_args, rstd), F(rlax_rmsnorm_backward_args, dout),
           F(rlax_rmsnorm_backward_args, dx), F(rlax_rmsnorm_backward_args, dweight))
FORWARD_OP(rope_forward, rlax_rope_forward_args, COST_VPU, F(rlax_rope_forward_args, x),
           F(rlax_rope_forward_args, positions), F(rlax_rope_forward_args, out))
FORWARD_OP(rope_backward, rlax_rope_backward_args, COST_VPU, F(rlax_rope_backward_args, dout),
           F(rlax_rope_backward_args, positions), F(rlax_rope_backward_args, dx))
FORWARD_OP(swiglu_forward, rlax_swiglu_forward_args, COST_VPU,
           F(rlax_swiglu_forward_args, gate), F(rlax_swiglu_forward_args, up),
           F(rlax_swiglu_forward_args, out))
FORWARD_OP(swiglu_backward, rlax_swiglu_backward_args, COST_VPU,
           F(rlax_swiglu_backward_args, gate), F(rlax_swiglu_backward_args, up),
           F(rlax_swiglu_backward_args, dout), F(rlax_swiglu_backward_args, dgate),
           F(rlax_swiglu_backward_args, dup))
FORWARD_OP(attention_forward, rlax_attention_forward_args, COST_ATTENTION_FORWARD,
           F(rlax_attention_forward_args, q), F(rlax_attention_forward_args, k),
           F(rlax_attention_forward_args, v), F(rlax_attention_forward_args, out),
           F(rlax_attention_forward_args, lse), F(rlax_attention_forward_args, q_positions),
           F(rlax_attention_forward_args, k_start))
FORWARD_OP(attention_backward, rlax_attention_backward_args, COST_ATTENTION_BACKWARD,
           F(rlax_attention_backward_args, q), F(rlax_attention_backward_args, k),
           F(rlax_attention_backward_args, v), F(rlax_attention_backward_args, out),
           F(rlax_attention_backward_args, lse), F(rlax_attention_backward_args, dout),
           F(rlax_attention_backward_args, q_positions), F(rlax_attention_backward_args, k_start),
           F(rlax_attention_backward_args, dq), F(rlax_attention_backward_args, dk),
           F(rlax_attention_backward_args, dv))
FORWARD_OP(embedding_forward, rlax_embedding_forward_args, COST_VPU,
           F(rlax_embedding_forward_args, table), F(rlax_embedding_forward_args, ids),
           F(rlax_embedding_forward_args, out))
FORWARD_OP(embedding_backward, rlax_embedding_backward_args, COST_VPU,
           F(rlax_embedding_backward_args, ids), F(rlax_embedding_backward_args, dout),
           F(rlax_embedding_backward_args, dtable))
FORWARD_OP(logsoftmax_gather_forward, rlax_logsoftmax_gather_forward_args, COST_VPU,
           F(rlax_logsoftmax_gather_forward_args, logits),
           F(rlax_logsoftmax_gather_forward_args, targets),
           F(rlax_logsoftmax_gather_forward_args, logprobs),
           F(rlax_logsoftmax_gather_forward_args, lse))
FORWARD_OP(logsoftmax_gather_backward, rlax_logsoftmax_gather_backward_args, COST_VPU,
           F(rlax_logsoftmax_gather_backward_args, logits),
           F(rlax_logsoftmax_gather_backward_args, targets),
           F(rlax_logsoftmax_gather_backward_args, lse),
           F(rlax_logsoftmax_gather_backward_args, dlogprobs),
           F(rlax_logsoftmax_gather_backward_args, dlogits))
FORWARD_OP(adamw, rlax_adamw_args, COST_VPU, F(rlax_adamw_args, param), F(rlax_adamw_args, grad),
           F(rlax_adamw_args, m), F(rlax_adamw_args, v))

/* ---------------------------------------------------------------------------------------- */
/* matmul: inputs rounded to bf16 (round to nearest even), products accumulated in fp32       */

static const char *dtype_name(rlax_dtype d) {
  switch (d) {
  case RLAX_DTYPE_F32: return "F32";
  case RLAX_DTYPE_BF16: return "BF16";
  case RLAX_DTYPE_F16: return "F16";
  case RLAX_DTYPE_I32: return "I32";
  case RLAX_DTYPE_I64: return "I64";
  case RLAX_DTYPE_U8: return "U8";
  case RLAX_DTYPE_F64: return "F64";
  default: return "INVALID";
  }
}

/* Validates one operand of `op`: descriptor, buffer, dtype (bf16_ok: F32 or BF16, else F32),
 * rank (within 0 ... RLAX_MAX_RANK; `ranks` says what the op expects), shape, strides,
 * alignment and bounds. Sets *numel. */
static rlax_error *check_operand(rlax_backend *be, const char *op, const char *name,
                                 const rlax_tensor *t, bool bf16_ok, const char *ranks,
                                 int64_t *numel) {
  if (!t) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", op, name);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_tensor, t->struct_size, strides))
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.struct_size is %zu, expected at least %zu", op, name, t->struct_size,
                  sizeof(rlax_tensor));
  if (!t->buffer) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.buffer is NULL", op, name);
  if (!ts_buffer_ok(be, t->buffer))
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.buffer is not a live buffer of this backend", op, name);
  const size_t esize = rlax_dtype_size(t->dtype);
  const bool ok = t->dtype == RLAX_DTYPE_F32 || (bf16_ok && t->dtype == RLAX_DTYPE_BF16);
  if (!ok)
    return ts_err(esize ? RLAX_ERROR_UNIMPLEMENTED : RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.dtype is %s, expected %s", op, name, dtype_name(t->dtype),
                  bf16_ok ? "F32 or BF16" : "F32");
  if (t->rank < 0 || t->rank > RLAX_MAX_RANK)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.rank is %d, expected %s", op, name,
                  (int)t->rank, ranks);
  int64_t n = 1;
  bool empty = false;
  for (int i = 0; i < t->rank; i++) {
    if (t->shape[i] < 0)
      return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s.shape[%d] is %" PRId64 ", expected >= 0", op, name, i, t->shape[i]);
    if (t->strides[i] < 0)
      return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s.strides[%d] is %" PRId64 ", expected >= 0", op, name, i, t->strides[i]);
    if (t->shape[i] == 0) empty = true;
  }
  for (int i = 0; i < t->rank && !empty; i++)
    if (__builtin_mul_overflow(n, t->shape[i], &n))
      return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s has too many elements", op, name);
  if (empty) n = 0;
  if (t->offset % esize != 0)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.offset is %" PRIu64 ", expected a multiple of the element size %zu", op,
                  name, t->offset, esize);
  const uint64_t size = t->buffer->size;
  uint64_t end = t->offset; /* one past the last byte addressed */
  bool overflow = false;
  if (n > 0) {
    uint64_t last = 0;
    for (int i = 0; i < t->rank; i++) {
      uint64_t term;
      overflow |= __builtin_mul_overflow((uint64_t)(t->shape[i] - 1), (uint64_t)t->strides[i], &term);
      overflow |= __builtin_add_overflow(last, term, &last);
    }
    overflow |= __builtin_mul_overflow(last + 1, (uint64_t)esize, &last);
    overflow |= __builtin_add_overflow(end, last, &end);
  }
  if (overflow || end > size)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s reaches byte %s%" PRIu64 " of its %" PRIu64 "-byte buffer", op, name,
                  overflow ? "> " : "", overflow ? UINT64_MAX : end, size);
  *numel = n;
  return NULL;
}

/* dims: "matmul: b.shape[0] is 5, expected K = 4"; binds *bound when unbound (< 0). */
static rlax_error *bind_dim(const char *name, int axis, int64_t found, const char *dim,
                            int64_t *bound) {
  if (*bound < 0) {
    *bound = found;
    return NULL;
  }
  if (found != *bound)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: %s.shape[%d] is %" PRId64 ", expected %s = %" PRId64,
                  name, axis, found, dim, *bound);
  return NULL;
}

/* A delegate scratch buffer of at least `bytes`. */
static rlax_error *scratch(rlax_backend *be, ts_scratch *s, uint64_t bytes) {
  if (bytes < 64) bytes = 64;
  if (s->buffer && s->size >= bytes) return NULL;
  be->d->buffer_free(be->inner, s->buffer);
  s->buffer = NULL;
  s->size = 0;
  rlax_error *e = be->d->buffer_allocate(be->inner, bytes, &s->buffer);
  if (e) return ts_wrap(be->d, e, "matmul: scratch for rounding inputs to bf16: ");
  s->size = bytes;
  return NULL;
}

/* A contiguous descriptor with t's shape over a delegate buffer. */
static rlax_tensor contiguous(const rlax_tensor *t, rlax_buffer *buffer, rlax_dtype dtype) {
  rlax_tensor c;
  memset(&c, 0, sizeof c);
  c.struct_size = sizeof c;
  c.buffer = buffer;
  c.dtype = dtype;
  c.rank = t->rank;
  int64_t stride = 1;
  for (int i = t->rank - 1; i >= 0; i--) {
    c.shape[i] = t->shape[i];
    c.strides[i] = stride;
    stride *= t->shape[i] > 0 ? t->shape[i] : 1;
  }
  return c;
}

static rlax_error *copy_on_delegate(rlax_backend *be, const char *name, const rlax_tensor *x,
                                    const rlax_tensor *out) {
  rlax_unary_args u;
  memset(&u, 0, sizeof u);
  u.struct_size = sizeof u;
  u.op = RLAX_UNARY_COPY;
  u.x = x;
  u.out = out;
  rlax_error *e = be->d->unary(be->inner, &u);
  if (!e) return NULL;
  char prefix[96];
  snprintf(prefix, sizeof prefix, "matmul: rounding %s to bf16: ", name);
  return ts_wrap(be->d, e, prefix);
}

/* Writes round_to_bf16(t) as F32 into the scratch `dst` and points *out at it: F32 goes
 * F32 -> BF16 -> F32 through the delegate's COPY (round to nearest even); BF16 is widened. */
static rlax_error *round_operand(rlax_backend *be, const char *name, const rlax_tensor *t,
                                 int64_t numel, ts_scratch *dst, rlax_tensor *out) {
  rlax_error *e = scratch(be, dst, (uint64_t)numel * 4);
  if (e) return e;
  *out = contiguous(t, dst->buffer, RLAX_DTYPE_F32);
  if (numel == 0) return NULL;
  rlax_tensor x = *t;
  x.struct_size = sizeof x;
  x.buffer = t->buffer->inner;
  if (t->dtype == RLAX_DTYPE_BF16) return copy_on_delegate(be, name, &x, out);
  if ((e = scratch(be, &be->half, (uint64_t)numel * 2))) return e;
  const rlax_tensor half = contiguous(t, be->half.buffer, RLAX_DTYPE_BF16);
  if ((e = copy_on_delegate(be, name, &x, &half))) return e;
  return copy_on_delegate(be, name, &half, out);
}

rlax_error *ts_matmul(rlax_backend *be, const rlax_matmul_args *args) {
  if (!be) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: backend is NULL");
  if (!args) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: args is NULL");
  rlax_error *e = ts_preempt_check(be, "matmul");
  if (e) return e;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_matmul_args, args->struct_size, beta))
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: args.struct_size is %zu, expected at least %zu",
                  args->struct_size, sizeof(rlax_matmul_args));
  int64_t na = 0, nb = 0, nc = 0;
  if ((e = check_operand(be, "matmul", "a", args->a, true, "2 or 3", &na))) return e;
  if ((e = check_operand(be, "matmul", "b", args->b, true, "2 or 3", &nb))) return e;
  if ((e = check_operand(be, "matmul", "c", args->c, false, "2 or 3", &nc))) return e;
  const rlax_tensor *a = args->a, *b = args->b, *c = args->c;
  if (c->rank != 2 && c->rank != 3)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: c.rank is %d, expected 2 or 3", (int)c->rank);
  const int maxr = c->rank;
  if (a->rank < 2 || a->rank > maxr)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: a.rank is %d, expected %s", (int)a->rank,
                  maxr == 3 ? "2 or 3" : "2 (c.rank is 2)");
  if (b->rank < 2 || b->rank > maxr)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: b.rank is %d, expected %s", (int)b->rank,
                  maxr == 3 ? "2 or 3" : "2 (c.rank is 2)");
  /* bind batch, M, K from a; K, N from b; then check c, as cpu-blas does */
  int64_t batch = -1, M = -1, N = -1, K = -1;
  const bool ta = args->transpose_a, tb = args->transpose_b;
  const int oa = a->rank - 2, ob = b->rank - 2, oc = c->rank - 2;
  if (a->rank == 3 && (e = bind_dim("a", 0, a->shape[0], "batch", &batch))) return e;
  if ((e = bind_dim("a", oa + (ta ? 1 : 0), a->shape[oa + (ta ? 1 : 0)], "M", &M))) return e;
  if ((e = bind_dim("a", oa + (ta ? 0 : 1), a->shape[oa + (ta ? 0 : 1)], "K", &K))) return e;
  if (b->rank == 3 && (e = bind_dim("b", 0, b->shape[0], "batch", &batch))) return e;
  if ((e = bind_dim("b", ob + (tb ? 1 : 0), b->shape[ob + (tb ? 1 : 0)], "K", &K))) return e;
  if ((e = bind_dim("b", ob + (tb ? 0 : 1), b->shape[ob + (tb ? 0 : 1)], "N", &N))) return e;
  if (c->rank == 3 && (e = bind_dim("c", 0, c->shape[0], "batch", &batch))) return e;
  if ((e = bind_dim("c", oc, c->shape[oc], "M", &M))) return e;
  if ((e = bind_dim("c", oc + 1, c->shape[oc + 1], "N", &N))) return e;
  if (batch < 0) batch = 1;

  /* round a and b to bf16 into scratch, then the delegate's fp32 matmul */
  rlax_tensor ra, rb, rc = *c;
  if ((e = round_operand(be, "a", a, na, &be->round_a, &ra))) return e;
  if ((e = round_operand(be, "b", b, nb, &be->round_b, &rb))) return e;
  rc.struct_size = sizeof rc;
  rc.buffer = c->buffer->inner;
  rlax_matmul_args m = *args;
  m.struct_size = sizeof m;
  m.a = &ra;
  m.b = &rb;
  m.c = &rc;
  e = be->d->matmul(be->inner, &m);
  if (e) return ts_wrap(be->d, e, NULL);

  const double flops = 2.0 * (double)batch * (double)M * (double)N * (double)K;
  const double bytes = (double)rlax_dtype_size(a->dtype) * (double)na +
                       (double)rlax_dtype_size(b->dtype) * (double)nb +
                       4.0 * (double)nc * (args->beta != 0.0f ? 2.0 : 1.0);
  ts_account(be, flops, bytes,
             ts_op_cost(&be->cfg, ts_matmul_mxu_flops(&be->cfg, batch, M, N, K), 0.0, bytes));
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* all_reduce: the slice's chips are simulated replicas holding identical data, so the sum    */
/* is left as it is; only the torus all-reduce time is charged (collective bucket)             */

rlax_error *ts_all_reduce(rlax_backend *be, const rlax_all_reduce_args *args) {
  if (!be) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "all_reduce: backend is NULL");
  if (!args) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "all_reduce: args is NULL");
  rlax_error *e = ts_preempt_check(be, "all_reduce");
  if (e) return e;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_all_reduce_args, args->struct_size, tensor))
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "all_reduce: args.struct_size is %zu, expected at least %zu", args->struct_size,
                  sizeof(rlax_all_reduce_args));
  const rlax_tensor *t = args->tensor;
  int64_t n = 0;
  if ((e = check_operand(be, "all_reduce", "tensor", t, false, "0 ... 8", &n))) return e;
  if (n > 0) { /* contiguous, row-major: axes of size 1 may have any stride */
    int64_t expected = 1;
    for (int i = t->rank - 1; i >= 0; i--) {
      if (t->shape[i] != 1 && t->strides[i] != expected)
        return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                      "all_reduce: tensor.strides[%d] is %" PRId64 ", expected %" PRId64
                      " (the tensor must be contiguous)",
                      i, t->strides[i], expected);
      expected *= t->shape[i];
    }
  }
  const double bytes = 4.0 * (double)n;
  const bool many = be->cfg.chips > 1 && n > 0;
  /* each chip reads its tensor and writes the sum once; nothing moves on one chip */
  ts_account(be, 0.0, many ? 2.0 * bytes : 0.0,
             (ts_cost){.seconds = many ? ts_allreduce_seconds(&be->cfg, bytes) : 0.0,
                       .overhead = 0.0,
                       .bound = TS_BOUND_COLLECTIVE});
  return NULL;
}
