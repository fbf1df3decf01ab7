/* cpu-blas: elementwise ops — unary, binary, fill, reduce, adamw. */
#include "tensor_view.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

/* Runs LOOP_BODY(i_out, i_in) over a run, with a contiguous fast path. */
#define RUN2(n, so, sx, BODY)                                        \
  do {                                                               \
    if ((so) == 1 && (sx) == 1) {                                    \
      for (int64_t i = 0; i < (n); i++) BODY(i, i);                  \
    } else {                                                         \
      for (int64_t i = 0; i < (n); i++) BODY(i * (so), i * (sx));    \
    }                                                                \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* unary                                                                                     */

typedef struct {
  rlax_unary_op op;
  float alpha, beta;
  rlax_dtype from, to;
} unary_ctx;

static inline float silu(float v) { return v / (1.0f + expf(-v)); }

static void unary_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const unary_ctx *c = (const unary_ctx *)vctx;
  const int64_t so = s[0], sx = s[1];
  if (c->op == RLAX_UNARY_COPY && c->from != c->to) {
    if (c->from == RLAX_DTYPE_F32) { /* f32 -> bf16 */
      uint16_t *o = (uint16_t *)(void *)p[0];
      const float *x = (const float *)(void *)p[1];
      for (int64_t i = 0; i < n; i++) o[i * so] = cb_f32_to_bf16(x[i * sx]);
    } else { /* bf16 -> f32 */
      float *o = (float *)(void *)p[0];
      const uint16_t *x = (const uint16_t *)(void *)p[1];
      for (int64_t i = 0; i < n; i++) o[i * so] = cb_bf16_to_f32(x[i * sx]);
    }
    return;
  }
  if (c->op == RLAX_UNARY_COPY) { /* same dtype: copy bits */
    if (c->from == RLAX_DTYPE_BF16) {
      uint16_t *o = (uint16_t *)(void *)p[0];
      const uint16_t *x = (const uint16_t *)(void *)p[1];
      for (int64_t i = 0; i < n; i++) o[i * so] = x[i * sx];
    } else {
      uint32_t *o = (uint32_t *)(void *)p[0];
      const uint32_t *x = (const uint32_t *)(void *)p[1];
#define B_COPY(io, ix) o[io] = x[ix]
      RUN2(n, so, sx, B_COPY);
    }
    return;
  }
  float *o = (float *)(void *)p[0];
  const float *x = (const float *)(void *)p[1];
  const float alpha = c->alpha, beta = c->beta;
  switch (c->op) {
#define B_AFFINE(io, ix) o[io] = alpha * x[ix] + beta
#define B_NEG(io, ix) o[io] = -x[ix]
#define B_EXP(io, ix) o[io] = expf(x[ix])
#define B_LOG(io, ix) o[io] = logf(x[ix])
#define B_SQRT(io, ix) o[io] = sqrtf(x[ix])
#define B_RSQRT(io, ix) o[io] = 1.0f / sqrtf(x[ix])
#define B_SQUARE(io, ix) o[io] = x[ix] * x[ix]
#define B_ABS(io, ix) o[io] = fabsf(x[ix])
#define B_TANH(io, ix) o[io] = tanhf(x[ix])
#define B_SILU(io, ix) o[io] = silu(x[ix])
#define B_RECIP(io, ix) o[io] = 1.0f / x[ix]
  case RLAX_UNARY_AFFINE: RUN2(n, so, sx, B_AFFINE); break;
  case RLAX_UNARY_NEG: RUN2(n, so, sx, B_NEG); break;
  case RLAX_UNARY_EXP: RUN2(n, so, sx, B_EXP); break;
  case RLAX_UNARY_LOG: RUN2(n, so, sx, B_LOG); break;
  case RLAX_UNARY_SQRT: RUN2(n, so, sx, B_SQRT); break;
  case RLAX_UNARY_RSQRT: RUN2(n, so, sx, B_RSQRT); break;
  case RLAX_UNARY_SQUARE: RUN2(n, so, sx, B_SQUARE); break;
  case RLAX_UNARY_ABS: RUN2(n, so, sx, B_ABS); break;
  case RLAX_UNARY_TANH: RUN2(n, so, sx, B_TANH); break;
  case RLAX_UNARY_SILU: RUN2(n, so, sx, B_SILU); break;
  case RLAX_UNARY_RECIPROCAL: RUN2(n, so, sx, B_RECIP); break;
  default: break;
  }
}

rlax_error *cb_unary(rlax_backend *be, const rlax_unary_args *a) {
  cb_check c;
  cb_check_init(&c, be, "unary");
  TRY(CB_CHECK_ARGS(&c, a, rlax_unary_args, beta));
  if ((int)a->op < RLAX_UNARY_COPY || (int)a->op > RLAX_UNARY_RECIPROCAL)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "unary: op is %d, expected 0 ... %d", (int)a->op,
                  (int)RLAX_UNARY_RECIPROCAL);
  const bool copy = a->op == RLAX_UNARY_COPY;
  const uint32_t dt = copy ? CB_STORAGE : CB_F32;
  cb_view out, x;
  TRY(cb_view_shape(&c, "out", a->out, dt, CB_OUT, -1, NULL, NULL, &out));
  TRY(cb_view_shape(&c, "x", a->x, dt, CB_IN, out.rank, out.shape, "out", &x));
  if (copy && x.dtype != out.dtype &&
      !((x.dtype == RLAX_DTYPE_F32 && out.dtype == RLAX_DTYPE_BF16) ||
        (x.dtype == RLAX_DTYPE_BF16 && out.dtype == RLAX_DTYPE_F32)))
    return cb_err(RLAX_ERROR_UNIMPLEMENTED,
                  "unary: COPY from %s to %s is not supported (converts only F32 <-> BF16)",
                  cb_dtype_name(x.dtype), cb_dtype_name(out.dtype));
  unary_ctx ctx = {a->op, a->alpha, a->beta, x.dtype, out.dtype};
  const cb_view *views[2] = {&out, &x};
  cb_foreach(2, views, unary_run, &ctx);
  return cb_done(be, copy ? 0.0 : (double)out.numel,
                 (double)out.numel * (double)(out.esize + x.esize));
}

/* ---------------------------------------------------------------------------------------- */
/* binary                                                                                    */

static inline float fmax_nan(float a, float b) { return (a > b || isnan(a)) ? a : b; }
static inline float fmin_nan(float a, float b) { return (a < b || isnan(a)) ? a : b; }

#define RUN3(n, so, sa, sb, BODY)                                              \
  do {                                                                         \
    if ((so) == 1 && (sa) == 1 && (sb) == 1) {                                 \
      for (int64_t i = 0; i < (n); i++) BODY(i, i, i);                         \
    } else if ((so) == 1 && (sa) == 1 && (sb) == 0) {                          \
      for (int64_t i = 0; i < (n); i++) BODY(i, i, 0);                         \
    } else if ((so) == 1 && (sa) == 0 && (sb) == 1) {                          \
      for (int64_t i = 0; i < (n); i++) BODY(i, 0, i);                         \
    } else {                                                                   \
      for (int64_t i = 0; i < (n); i++) BODY(i * (so), i * (sa), i * (sb));    \
    }                                                                          \
  } while (0)

static void binary_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const rlax_binary_op op = *(const rlax_binary_op *)vctx;
  float *o = (float *)(void *)p[0];
  const float *a = (const float *)(void *)p[1];
  const float *b = (const float *)(void *)p[2];
  const int64_t so = s[0], sa = s[1], sb = s[2];
  switch (op) {
#define B_ADD(io, ia, ib) o[io] = a[ia] + b[ib]
#define B_SUB(io, ia, ib) o[io] = a[ia] - b[ib]
#define B_MUL(io, ia, ib) o[io] = a[ia] * b[ib]
#define B_DIV(io, ia, ib) o[io] = a[ia] / b[ib]
#define B_MAX(io, ia, ib) o[io] = fmax_nan(a[ia], b[ib])
#define B_MIN(io, ia, ib) o[io] = fmin_nan(a[ia], b[ib])
  case RLAX_BINARY_ADD: RUN3(n, so, sa, sb, B_ADD); break;
  case RLAX_BINARY_SUB: RUN3(n, so, sa, sb, B_SUB); break;
  case RLAX_BINARY_MUL: RUN3(n, so, sa, sb, B_MUL); break;
  case RLAX_BINARY_DIV: RUN3(n, so, sa, sb, B_DIV); break;
  case RLAX_BINARY_MAX: RUN3(n, so, sa, sb, B_MAX); break;
  case RLAX_BINARY_MIN: RUN3(n, so, sa, sb, B_MIN); break;
  default: break;
  }
}

rlax_error *cb_binary(rlax_backend *be, const rlax_binary_args *a) {
  cb_check c;
  cb_check_init(&c, be, "binary");
  TRY(CB_CHECK_ARGS(&c, a, rlax_binary_args, out));
  if ((int)a->op < RLAX_BINARY_ADD || (int)a->op > RLAX_BINARY_MIN)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "binary: op is %d, expected 0 ... %d", (int)a->op,
                  (int)RLAX_BINARY_MIN);
  cb_view out, x, y;
  TRY(cb_view_shape(&c, "out", a->out, CB_F32, CB_OUT, -1, NULL, NULL, &out));
  TRY(cb_view_shape(&c, "a", a->a, CB_F32, CB_IN, out.rank, out.shape, "out", &x));
  TRY(cb_view_shape(&c, "b", a->b, CB_F32, CB_IN, out.rank, out.shape, "out", &y));
  rlax_binary_op op = a->op;
  const cb_view *views[3] = {&out, &x, &y};
  cb_foreach(3, views, binary_run, &op);
  return cb_done(be, (double)out.numel, (double)out.numel * 12.0);
}

/* ---------------------------------------------------------------------------------------- */
/* fill                                                                                      */

typedef struct {
  rlax_dtype dtype;
  uint32_t bits; /* the value's bit pattern in the output dtype */
} fill_ctx;

static void fill_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const fill_ctx *c = (const fill_ctx *)vctx;
  const int64_t so = s[0];
  if (c->dtype == RLAX_DTYPE_BF16) {
    uint16_t *o = (uint16_t *)(void *)p[0];
    for (int64_t i = 0; i < n; i++) o[i * so] = (uint16_t)c->bits;
  } else {
    uint32_t *o = (uint32_t *)(void *)p[0];
    const uint32_t v = c->bits;
    if (so == 1)
      for (int64_t i = 0; i < n; i++) o[i] = v;
    else
      for (int64_t i = 0; i < n; i++) o[i * so] = v;
  }
}

rlax_error *cb_fill(rlax_backend *be, const rlax_fill_args *a) {
  cb_check c;
  cb_check_init(&c, be, "fill");
  TRY(CB_CHECK_ARGS(&c, a, rlax_fill_args, value));
  cb_view out;
  TRY(cb_view_shape(&c, "out", a->out, CB_STORAGE, CB_OUT, -1, NULL, NULL, &out));
  fill_ctx ctx = {out.dtype, 0};
  if (out.dtype == RLAX_DTYPE_F32) {
    memcpy(&ctx.bits, &a->value, sizeof ctx.bits);
  } else if (out.dtype == RLAX_DTYPE_BF16) {
    ctx.bits = cb_f32_to_bf16(a->value);
  } else {
    float v = a->value;
    if (!(v >= -2147483648.0f && v < 2147483648.0f) || v != truncf(v))
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "fill: value %g cannot be stored in an I32 tensor (out)", (double)v);
    int32_t iv = (int32_t)v;
    memcpy(&ctx.bits, &iv, sizeof ctx.bits);
  }
  const cb_view *views[1] = {&out};
  cb_foreach(1, views, fill_run, &ctx);
  return cb_done(be, 0.0, (double)out.numel * (double)out.esize);
}

/* ---------------------------------------------------------------------------------------- */
/* reduce                                                                                    */

static void reduce_sum_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const bool squares = *(const bool *)vctx;
  const float *x = (const float *)(void *)p[0];
  double *acc = (double *)(void *)p[1];
  const int64_t sx = s[0], sa = s[1];
  if (sa == 0) {
    double t = 0.0;
    if (squares)
      for (int64_t i = 0; i < n; i++) t += (double)x[i * sx] * (double)x[i * sx];
    else
      for (int64_t i = 0; i < n; i++) t += (double)x[i * sx];
    acc[0] += t;
  } else if (squares) {
    for (int64_t i = 0; i < n; i++) acc[i * sa] += (double)x[i * sx] * (double)x[i * sx];
  } else if (sa == 1 && sx == 1) {
    for (int64_t i = 0; i < n; i++) acc[i] += (double)x[i];
  } else {
    for (int64_t i = 0; i < n; i++) acc[i * sa] += (double)x[i * sx];
  }
}

static void reduce_max_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  (void)vctx;
  const float *x = (const float *)(void *)p[0];
  double *acc = (double *)(void *)p[1];
  const int64_t sx = s[0], sa = s[1];
  for (int64_t i = 0; i < n; i++) {
    double v = x[i * sx], *m = &acc[i * sa];
    if (v > *m || isnan(v)) *m = isnan(*m) ? *m : v;
  }
}

static void reduce_store_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const double scale = *(const double *)vctx;
  float *o = (float *)(void *)p[0];
  const double *acc = (const double *)(void *)p[1];
  for (int64_t i = 0; i < n; i++) o[i * s[0]] = (float)(acc[i * s[1]] * scale);
}

rlax_error *cb_reduce(rlax_backend *be, const rlax_reduce_args *a) {
  cb_check c;
  cb_check_init(&c, be, "reduce");
  TRY(CB_CHECK_ARGS(&c, a, rlax_reduce_args, axis));
  if ((int)a->op < RLAX_REDUCE_SUM || (int)a->op > RLAX_REDUCE_SUM_SQUARES)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "reduce: op is %d, expected 0 ... %d", (int)a->op,
                  (int)RLAX_REDUCE_SUM_SQUARES);
  cb_view x, out;
  TRY(cb_view_shape(&c, "x", a->x, CB_F32, CB_IN, -1, NULL, NULL, &x));
  if (a->axis < 0 || a->axis >= x.rank)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "reduce: axis is %d, expected 0 ... %d (x.rank is %d)",
                  (int)a->axis, x.rank - 1, x.rank);
  const int axis = a->axis;
  int64_t oshape[RLAX_MAX_RANK];
  for (int i = 0; i < x.rank; i++) oshape[i] = i == axis ? 1 : x.shape[i];
  TRY(cb_view_shape(&c, "out", a->out, CB_F32, CB_OUT, x.rank, oshape,
                    "x with shape[axis] = 1", &out));
  if (out.numel == 0) return cb_done(be, 0.0, 0.0);

  /* accumulate into a contiguous double array with out's shape */
  double *acc = (double *)malloc((size_t)out.numel * sizeof(double));
  if (!acc) return cb_err(RLAX_ERROR_OUT_OF_MEMORY, "reduce: out of memory for %" PRId64 " accumulators",
                          out.numel);
  const double init = a->op == RLAX_REDUCE_MAX ? -INFINITY : 0.0;
  for (int64_t i = 0; i < out.numel; i++) acc[i] = init;
  cb_view accx = x, acco = out; /* acc seen with x's shape (stride 0 on axis) and out's */
  accx.data = acco.data = (char *)acc;
  accx.esize = acco.esize = sizeof(double);
  int64_t st = 1;
  for (int i = x.rank - 1; i >= 0; i--) {
    acco.strides[i] = st;
    accx.strides[i] = i == axis ? 0 : st;
    st *= oshape[i];
  }
  if (x.numel > 0) {
    const cb_view *views[2] = {&x, &accx};
    bool squares = a->op == RLAX_REDUCE_SUM_SQUARES;
    cb_foreach(2, views, a->op == RLAX_REDUCE_MAX ? reduce_max_run : reduce_sum_run, &squares);
  }
  double scale = a->op == RLAX_REDUCE_MEAN ? 1.0 / (double)x.shape[axis] : 1.0;
  if (a->op == RLAX_REDUCE_MEAN && x.shape[axis] == 0) scale = NAN;
  const cb_view *views[2] = {&out, &acco};
  cb_foreach(2, views, reduce_store_run, &scale);
  free(acc);
  return cb_done(be, (double)x.numel * (a->op == RLAX_REDUCE_SUM_SQUARES ? 2.0 : 1.0),
                 4.0 * (double)(x.numel + out.numel));
}

/* ---------------------------------------------------------------------------------------- */
/* adamw                                                                                     */

typedef struct {
  float lr, beta1, beta2, eps, wd, gscale, inv_bc1, inv_bc2;
} adamw_ctx;

static void adamw_run(void *vctx, int64_t n, char *const *ptr, const int64_t *s) {
  const adamw_ctx *c = (const adamw_ctx *)vctx;
  float *p = (float *)(void *)ptr[0];
  const float *g = (const float *)(void *)ptr[1];
  float *m = (float *)(void *)ptr[2];
  float *v = (float *)(void *)ptr[3];
  const float b1 = c->beta1, b2 = c->beta2, lr = c->lr, eps = c->eps, wd = c->wd;
  const float gs = c->gscale, ib1 = c->inv_bc1, ib2 = c->inv_bc2;
#define ADAMW_BODY(ip, ig, im, iv)                                   \
  do {                                                               \
    float gr = gs * g[ig];                                           \
    float mm = b1 * m[im] + (1.0f - b1) * gr;                        \
    float vv = b2 * v[iv] + (1.0f - b2) * gr * gr;                   \
    m[im] = mm;                                                      \
    v[iv] = vv;                                                      \
    float pp = p[ip];                                                \
    p[ip] = pp - lr * ((mm * ib1) / (sqrtf(vv * ib2) + eps) + wd * pp); \
  } while (0)
  if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1) {
    for (int64_t i = 0; i < n; i++) ADAMW_BODY(i, i, i, i);
  } else {
    for (int64_t i = 0; i < n; i++) ADAMW_BODY(i * s[0], i * s[1], i * s[2], i * s[3]);
  }
}

rlax_error *cb_adamw(rlax_backend *be, const rlax_adamw_args *a) {
  cb_check c;
  cb_check_init(&c, be, "adamw");
  TRY(CB_CHECK_ARGS(&c, a, rlax_adamw_args, step));
  cb_view p, g, m, v;
  TRY(cb_view_shape(&c, "grad", a->grad, CB_F32, CB_IN, -1, NULL, NULL, &g));
  TRY(cb_view_shape(&c, "param", a->param, CB_F32, CB_OUT, g.rank, g.shape, "grad", &p));
  TRY(cb_view_shape(&c, "m", a->m, CB_F32, CB_OUT, g.rank, g.shape, "grad", &m));
  TRY(cb_view_shape(&c, "v", a->v, CB_F32, CB_OUT, g.rank, g.shape, "grad", &v));
  if (a->step < 1)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "adamw: step is %" PRId64 ", expected >= 1",
                  a->step);
  double bc1 = 1.0 - pow((double)a->beta1, (double)a->step);
  double bc2 = 1.0 - pow((double)a->beta2, (double)a->step);
  adamw_ctx ctx = {a->lr, a->beta1, a->beta2, a->eps, a->weight_decay, a->grad_scale,
                   (float)(1.0 / bc1), (float)(1.0 / bc2)};
  const cb_view *views[4] = {&p, &g, &m, &v};
  cb_foreach(4, views, adamw_run, &ctx);
  return cb_done(be, 16.0 * (double)g.numel, 28.0 * (double)g.numel);
}
