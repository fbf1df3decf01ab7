/* cpu-blas: neural-network ops — softmax, rmsnorm, rope, swiglu, embedding,
 * logsoftmax-gather. Row kernels take element strides and are inlined with stride 1 for the
 * contiguous fast path. */
#include "tensor_view.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define CB_INLINE static inline __attribute__((always_inline))

/* Calls KERNEL(args..., 1, 1) when both strides are 1, else with the given strides. */
#define STRIDE2(sa, sb, CALL1, CALLN) \
  do {                                \
    if ((sa) == 1 && (sb) == 1) {     \
      CALL1;                          \
    } else {                          \
      CALLN;                          \
    }                                 \
  } while (0)

/* ---------------------------------------------------------------------------------------- */
/* softmax                                                                                   */

CB_INLINE void softmax_row(const float *x, int64_t sx, float *o, int64_t so, int64_t L) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < L; i++) mx = x[i * sx] > mx ? x[i * sx] : mx; /* ignores NaN, like fmaxf */
  double sum = 0.0;
  for (int64_t i = 0; i < L; i++) {
    float e = expf(x[i * sx] - mx);
    o[i * so] = e;
    sum += e;
  }
  const float inv = (float)(1.0 / sum);
  for (int64_t i = 0; i < L; i++) o[i * so] *= inv;
}

typedef struct {
  int64_t L, sx, so;
} softmax_ctx;

static void softmax_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  const softmax_ctx *c = (const softmax_ctx *)vctx;
  for (int64_t r = 0; r < n; r++) {
    float *o = (float *)(void *)p[0] + r * s[0];
    const float *x = (const float *)(void *)p[1] + r * s[1];
    STRIDE2(c->sx, c->so, softmax_row(x, 1, o, 1, c->L), softmax_row(x, c->sx, o, c->so, c->L));
  }
}

rlax_error *cb_softmax(rlax_backend *be, const rlax_softmax_args *a) {
  cb_check c;
  cb_check_init(&c, be, "softmax");
  TRY(CB_CHECK_ARGS(&c, a, rlax_softmax_args, out));
  cb_view x, out;
  TRY(cb_view_shape(&c, "x", a->x, CB_F32, CB_IN, -1, NULL, NULL, &x));
  if (x.rank < 1)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "softmax: x.rank is 0, expected >= 1");
  TRY(cb_view_shape(&c, "out", a->out, CB_F32, CB_OUT, x.rank, x.shape, "x", &out));
  const int last = x.rank - 1;
  softmax_ctx ctx = {x.shape[last], x.strides[last], out.strides[last]};
  if (x.numel > 0) {
    cb_view orows = cb_view_drop_last(&out), xrows = cb_view_drop_last(&x);
    const cb_view *views[2] = {&orows, &xrows};
    cb_foreach(2, views, softmax_run, &ctx);
  }
  return cb_done(be, 5.0 * (double)x.numel, 8.0 * (double)x.numel);
}

/* ---------------------------------------------------------------------------------------- */
/* rmsnorm                                                                                   */

CB_INLINE float rmsnorm_row(const float *x, int64_t sx, const float *w, int64_t sw, float *o,
                            int64_t so, int64_t D, float eps) {
  double ss = 0.0;
  for (int64_t i = 0; i < D; i++) ss += (double)x[i * sx] * (double)x[i * sx];
  const float r = (float)(1.0 / sqrt((D ? ss / (double)D : 0.0) + (double)eps));
  for (int64_t i = 0; i < D; i++) o[i * so] = x[i * sx] * r * w[i * sw];
  return r;
}

rlax_error *cb_rmsnorm_forward(rlax_backend *be, const rlax_rmsnorm_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "rmsnorm_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_rmsnorm_forward_args, eps));
  cb_view x, w, out, rstd;
  TRY(cb_view_spec(&c, "x", a->x, CB_F32, CB_IN, "rows,D", &x));
  TRY(cb_view_spec(&c, "weight", a->weight, CB_F32, CB_IN, "D", &w));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_OUT, "rows,D", &out));
  TRY(cb_view_spec(&c, "rstd", a->rstd, CB_F32, CB_OUT, "rows", &rstd));
  const int64_t rows = x.shape[0], D = x.shape[1];
  const int64_t sx = x.strides[1], sw = w.strides[0], so = out.strides[1];
  const float *W = cb_f32(&w, 0);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = cb_f32(&x, r * x.strides[0]);
    float *orow = cb_f32(&out, r * out.strides[0]);
    float rs;
    if (sx == 1 && sw == 1 && so == 1) rs = rmsnorm_row(xr, 1, W, 1, orow, 1, D, a->eps);
    else rs = rmsnorm_row(xr, sx, W, sw, orow, so, D, a->eps);
    *cb_f32(&rstd, r * rstd.strides[0]) = rs;
  }
  return cb_done(be, 4.0 * (double)x.numel, 4.0 * (double)(2 * x.numel + D + rows));
}

CB_INLINE void rmsnorm_bwd_row(const float *x, int64_t sx, const float *w, int64_t sw,
                               const float *g, int64_t sg, float *dx, int64_t sdx, double *dw,
                               int64_t D, float r) {
  double dot = 0.0;
  for (int64_t i = 0; i < D; i++) dot += (double)g[i * sg] * (double)w[i * sw] * (double)x[i * sx];
  const float k = (float)((double)r * (double)r * (double)r * dot / (double)D);
  for (int64_t i = 0; i < D; i++) dx[i * sdx] += r * w[i * sw] * g[i * sg] - k * x[i * sx];
  if (dw)
    for (int64_t i = 0; i < D; i++) dw[i] += (double)g[i * sg] * (double)x[i * sx] * (double)r;
}

rlax_error *cb_rmsnorm_backward(rlax_backend *be, const rlax_rmsnorm_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "rmsnorm_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_rmsnorm_backward_args, dweight));
  cb_view x, w, rstd, dout, dx, dw;
  TRY(cb_view_spec(&c, "x", a->x, CB_F32, CB_IN, "rows,D", &x));
  TRY(cb_view_spec(&c, "weight", a->weight, CB_F32, CB_IN, "D", &w));
  TRY(cb_view_spec(&c, "rstd", a->rstd, CB_F32, CB_IN, "rows", &rstd));
  TRY(cb_view_spec(&c, "dout", a->dout, CB_F32, CB_IN, "rows,D", &dout));
  TRY(cb_view_spec(&c, "dx", a->dx, CB_F32, CB_OUT, "rows,D", &dx));
  TRY(cb_view_spec(&c, "dweight", a->dweight, CB_F32, CB_OUT | CB_OPTIONAL, "D", &dw));
  const int64_t rows = x.shape[0], D = x.shape[1];
  double *acc = NULL;
  if (dw.present && D > 0) {
    acc = (double *)calloc((size_t)D, sizeof(double));
    if (!acc) return cb_err(RLAX_ERROR_OUT_OF_MEMORY, "rmsnorm_backward: out of memory");
  }
  const int64_t sx = x.strides[1], sw = w.strides[0], sg = dout.strides[1], sdx = dx.strides[1];
  const float *W = cb_f32(&w, 0);
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = cb_f32(&x, r * x.strides[0]);
    const float *gr = cb_f32(&dout, r * dout.strides[0]);
    float *dxr = cb_f32(&dx, r * dx.strides[0]);
    const float rs = *cb_f32(&rstd, r * rstd.strides[0]);
    if (sx == 1 && sw == 1 && sg == 1 && sdx == 1)
      rmsnorm_bwd_row(xr, 1, W, 1, gr, 1, dxr, 1, acc, D, rs);
    else
      rmsnorm_bwd_row(xr, sx, W, sw, gr, sg, dxr, sdx, acc, D, rs);
  }
  if (acc) {
    for (int64_t i = 0; i < D; i++) *cb_f32(&dw, i * dw.strides[0]) += (float)acc[i];
    free(acc);
  }
  return cb_done(be, 8.0 * (double)x.numel, 4.0 * (double)(4 * x.numel + 3 * D + rows));
}

/* ---------------------------------------------------------------------------------------- */
/* rope                                                                                      */

/* out (=, or += when accumulate) R(sign * angle) x, for x, out [B,T,H,D]. */
static rlax_error *rope_apply(rlax_backend *be, const char *op, const cb_view *x,
                              const cb_view *pos, const cb_view *out, float theta, double sign,
                              bool accumulate) {
  const int64_t B = x->shape[0], T = x->shape[1], H = x->shape[2], D = x->shape[3], half = D / 2;
  double *tab = (double *)malloc((size_t)(3 * (half > 0 ? half : 1)) * sizeof(double));
  if (!tab) return cb_err(RLAX_ERROR_OUT_OF_MEMORY, "%s: out of memory", op);
  double *inv_freq = tab, *cs = tab + half, *sn = tab + 2 * half;
  for (int64_t i = 0; i < half; i++)
    inv_freq[i] = pow((double)theta, -2.0 * (double)i / (double)D);
  const int64_t xs3 = x->strides[3], os3 = out->strides[3];
  for (int64_t b = 0; b < B; b++)
    for (int64_t t = 0; t < T; t++) {
      const double p = (double)*cb_i32(pos, b * pos->strides[0] + t * pos->strides[1]);
      for (int64_t i = 0; i < half; i++) {
        const double ang = p * inv_freq[i];
        cs[i] = cos(ang);
        sn[i] = sign * sin(ang);
      }
      for (int64_t h = 0; h < H; h++) {
        const float *xr = cb_f32(x, b * x->strides[0] + t * x->strides[1] + h * x->strides[2]);
        float *orow = cb_f32(out, b * out->strides[0] + t * out->strides[1] + h * out->strides[2]);
        for (int64_t i = 0; i < half; i++) {
          const double x1 = xr[i * xs3], x2 = xr[(i + half) * xs3];
          const float y1 = (float)(x1 * cs[i] - x2 * sn[i]);
          const float y2 = (float)(x1 * sn[i] + x2 * cs[i]);
          if (accumulate) {
            orow[i * os3] += y1;
            orow[(i + half) * os3] += y2;
          } else {
            orow[i * os3] = y1;
            orow[(i + half) * os3] = y2;
          }
        }
      }
    }
  free(tab);
  return cb_done(be, 3.0 * (double)x->numel + (accumulate ? (double)x->numel : 0.0),
                 4.0 * (double)(x->numel * (accumulate ? 3 : 2) + B * T));
}

static rlax_error *rope_even(const char *op, const char *name, const cb_view *x) {
  if (x->shape[3] % 2 != 0)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.shape[3] is %" PRId64 ", expected an even D",
                  op, name, x->shape[3]);
  return NULL;
}

rlax_error *cb_rope_forward(rlax_backend *be, const rlax_rope_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "rope_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_rope_forward_args, theta));
  cb_view x, pos, out;
  TRY(cb_view_spec(&c, "x", a->x, CB_F32, CB_IN, "B,T,H,D", &x));
  TRY(rope_even(c.op, "x", &x));
  TRY(cb_view_spec(&c, "positions", a->positions, CB_I32, CB_IN, "B,T", &pos));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_OUT, "B,T,H,D", &out));
  return rope_apply(be, c.op, &x, &pos, &out, a->theta, 1.0, false);
}

rlax_error *cb_rope_backward(rlax_backend *be, const rlax_rope_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "rope_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_rope_backward_args, theta));
  cb_view dout, pos, dx;
  TRY(cb_view_spec(&c, "dout", a->dout, CB_F32, CB_IN, "B,T,H,D", &dout));
  TRY(rope_even(c.op, "dout", &dout));
  TRY(cb_view_spec(&c, "positions", a->positions, CB_I32, CB_IN, "B,T", &pos));
  TRY(cb_view_spec(&c, "dx", a->dx, CB_F32, CB_OUT, "B,T,H,D", &dx));
  return rope_apply(be, c.op, &dout, &pos, &dx, a->theta, -1.0, true);
}

/* ---------------------------------------------------------------------------------------- */
/* swiglu                                                                                    */

static void swiglu_fwd_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  (void)vctx;
  float *o = (float *)(void *)p[0];
  const float *g = (const float *)(void *)p[1], *u = (const float *)(void *)p[2];
#define SWIGLU_F(io, ig, iu) o[io] = g[ig] / (1.0f + expf(-g[ig])) * u[iu]
  if (s[0] == 1 && s[1] == 1 && s[2] == 1)
    for (int64_t i = 0; i < n; i++) SWIGLU_F(i, i, i);
  else
    for (int64_t i = 0; i < n; i++) SWIGLU_F(i * s[0], i * s[1], i * s[2]);
}

rlax_error *cb_swiglu_forward(rlax_backend *be, const rlax_swiglu_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "swiglu_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_swiglu_forward_args, out));
  cb_view g, u, out;
  TRY(cb_view_spec(&c, "gate", a->gate, CB_F32, CB_IN, "N,F", &g));
  TRY(cb_view_spec(&c, "up", a->up, CB_F32, CB_IN, "N,F", &u));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_OUT, "N,F", &out));
  const cb_view *views[3] = {&out, &g, &u};
  cb_foreach(3, views, swiglu_fwd_run, NULL);
  return cb_done(be, 5.0 * (double)g.numel, 12.0 * (double)g.numel);
}

static void swiglu_bwd_run(void *vctx, int64_t n, char *const *p, const int64_t *s) {
  (void)vctx;
  float *dg = (float *)(void *)p[0], *du = (float *)(void *)p[1];
  const float *g = (const float *)(void *)p[2], *u = (const float *)(void *)p[3];
  const float *d = (const float *)(void *)p[4];
#define SWIGLU_B(idg, idu, ig, iu, id)                          \
  do {                                                          \
    const float gv = g[ig], sg = 1.0f / (1.0f + expf(-gv));     \
    const float dv = d[id];                                     \
    dg[idg] += dv * u[iu] * sg * (1.0f + gv * (1.0f - sg));     \
    du[idu] += dv * gv * sg;                                    \
  } while (0)
  if (s[0] == 1 && s[1] == 1 && s[2] == 1 && s[3] == 1 && s[4] == 1)
    for (int64_t i = 0; i < n; i++) SWIGLU_B(i, i, i, i, i);
  else
    for (int64_t i = 0; i < n; i++) SWIGLU_B(i * s[0], i * s[1], i * s[2], i * s[3], i * s[4]);
}

rlax_error *cb_swiglu_backward(rlax_backend *be, const rlax_swiglu_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "swiglu_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_swiglu_backward_args, dup));
  cb_view g, u, d, dg, du;
  TRY(cb_view_spec(&c, "gate", a->gate, CB_F32, CB_IN, "N,F", &g));
  TRY(cb_view_spec(&c, "up", a->up, CB_F32, CB_IN, "N,F", &u));
  TRY(cb_view_spec(&c, "dout", a->dout, CB_F32, CB_IN, "N,F", &d));
  TRY(cb_view_spec(&c, "dgate", a->dgate, CB_F32, CB_OUT, "N,F", &dg));
  TRY(cb_view_spec(&c, "dup", a->dup, CB_F32, CB_OUT, "N,F", &du));
  const cb_view *views[5] = {&dg, &du, &g, &u, &d};
  cb_foreach(5, views, swiglu_bwd_run, NULL);
  return cb_done(be, 12.0 * (double)g.numel, 28.0 * (double)g.numel);
}

/* ---------------------------------------------------------------------------------------- */
/* embedding                                                                                 */

/* Checks every index of an I32 [N] operand lies in [0, limit). */
static rlax_error *check_indices(const char *op, const char *name, const cb_view *ids,
                                 const char *limit_name, int64_t limit) {
  for (int64_t n = 0; n < ids->shape[0]; n++) {
    const int32_t id = *cb_i32(ids, n * ids->strides[0]);
    if (id < 0 || id >= limit)
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s[%" PRId64 "] is %d, expected 0 <= %s[%" PRId64 "] < %s = %" PRId64,
                    op, name, n, (int)id, name, n, limit_name, limit);
  }
  return NULL;
}

rlax_error *cb_embedding_forward(rlax_backend *be, const rlax_embedding_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "embedding_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_embedding_forward_args, out));
  cb_view table, ids, out;
  TRY(cb_view_spec(&c, "table", a->table, CB_F32, CB_IN, "V,D", &table));
  TRY(cb_view_spec(&c, "ids", a->ids, CB_I32, CB_IN, "N", &ids));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_OUT, "N,D", &out));
  const int64_t V = table.shape[0], D = table.shape[1], N = ids.shape[0];
  TRY(check_indices(c.op, "ids", &ids, "V", V));
  const int64_t st = table.strides[1], so = out.strides[1];
  for (int64_t n = 0; n < N; n++) {
    const int32_t id = *cb_i32(&ids, n * ids.strides[0]);
    const float *src = cb_f32(&table, id * table.strides[0]);
    float *dst = cb_f32(&out, n * out.strides[0]);
    if (st == 1 && so == 1) memcpy(dst, src, (size_t)D * sizeof(float));
    else
      for (int64_t d = 0; d < D; d++) dst[d * so] = src[d * st];
  }
  return cb_done(be, 0.0, 4.0 * (double)(2 * N * D + N));
}

rlax_error *cb_embedding_backward(rlax_backend *be, const rlax_embedding_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "embedding_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_embedding_backward_args, dtable));
  cb_view ids, dout, dtable;
  TRY(cb_view_spec(&c, "ids", a->ids, CB_I32, CB_IN, "N", &ids));
  TRY(cb_view_spec(&c, "dout", a->dout, CB_F32, CB_IN, "N,D", &dout));
  TRY(cb_view_spec(&c, "dtable", a->dtable, CB_F32, CB_OUT, "V,D", &dtable));
  const int64_t V = dtable.shape[0], D = dtable.shape[1], N = ids.shape[0];
  TRY(check_indices(c.op, "ids", &ids, "V", V));
  const int64_t sg = dout.strides[1], st = dtable.strides[1];
  for (int64_t n = 0; n < N; n++) {
    const int32_t id = *cb_i32(&ids, n * ids.strides[0]);
    const float *src = cb_f32(&dout, n * dout.strides[0]);
    float *dst = cb_f32(&dtable, id * dtable.strides[0]);
    if (st == 1 && sg == 1)
      for (int64_t d = 0; d < D; d++) dst[d] += src[d];
    else
      for (int64_t d = 0; d < D; d++) dst[d * st] += src[d * sg];
  }
  return cb_done(be, (double)(N * D), 4.0 * (double)(3 * N * D + N));
}

/* ---------------------------------------------------------------------------------------- */
/* logsoftmax-gather                                                                         */

CB_INLINE double logsumexp_row(const float *x, int64_t sx, int64_t V) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < V; i++) mx = x[i * sx] > mx ? x[i * sx] : mx; /* ignores NaN, like fmaxf */
  if (mx == -INFINITY || isinf(mx)) return (double)mx;
  double sum = 0.0;
  for (int64_t i = 0; i < V; i++) sum += (double)expf(x[i * sx] - mx);
  return (double)mx + log(sum);
}

rlax_error *cb_logsoftmax_gather_forward(rlax_backend *be,
                                         const rlax_logsoftmax_gather_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "logsoftmax_gather_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_logsoftmax_gather_forward_args, lse));
  cb_view logits, targets, logprobs, lse;
  TRY(cb_view_spec(&c, "logits", a->logits, CB_F32, CB_IN, "N,V", &logits));
  TRY(cb_view_spec(&c, "targets", a->targets, CB_I32, CB_IN, "N", &targets));
  TRY(cb_view_spec(&c, "logprobs", a->logprobs, CB_F32, CB_OUT, "N", &logprobs));
  TRY(cb_view_spec(&c, "lse", a->lse, CB_F32, CB_OUT | CB_OPTIONAL, "N", &lse));
  const int64_t N = logits.shape[0], V = logits.shape[1], sx = logits.strides[1];
  TRY(check_indices(c.op, "targets", &targets, "V", V));
  for (int64_t n = 0; n < N; n++) {
    const float *x = cb_f32(&logits, n * logits.strides[0]);
    const double l = sx == 1 ? logsumexp_row(x, 1, V) : logsumexp_row(x, sx, V);
    const int32_t t = *cb_i32(&targets, n * targets.strides[0]);
    *cb_f32(&logprobs, n * logprobs.strides[0]) = (float)((double)x[t * sx] - l);
    if (lse.present) *cb_f32(&lse, n * lse.strides[0]) = (float)l;
  }
  return cb_done(be, 3.0 * (double)(N * V), 4.0 * (double)(N * V + 3 * N));
}

rlax_error *cb_logsoftmax_gather_backward(rlax_backend *be,
                                          const rlax_logsoftmax_gather_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "logsoftmax_gather_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_logsoftmax_gather_backward_args, dlogits));
  cb_view logits, targets, lse, dlp, dlogits;
  TRY(cb_view_spec(&c, "logits", a->logits, CB_F32, CB_IN, "N,V", &logits));
  TRY(cb_view_spec(&c, "targets", a->targets, CB_I32, CB_IN, "N", &targets));
  TRY(cb_view_spec(&c, "lse", a->lse, CB_F32, CB_IN, "N", &lse));
  TRY(cb_view_spec(&c, "dlogprobs", a->dlogprobs, CB_F32, CB_IN, "N", &dlp));
  TRY(cb_view_spec(&c, "dlogits", a->dlogits, CB_F32, CB_OUT, "N,V", &dlogits));
  const int64_t N = logits.shape[0], V = logits.shape[1];
  TRY(check_indices(c.op, "targets", &targets, "V", V));
  const int64_t sx = logits.strides[1], sd = dlogits.strides[1];
  for (int64_t n = 0; n < N; n++) {
    const float *x = cb_f32(&logits, n * logits.strides[0]);
    float *dx = cb_f32(&dlogits, n * dlogits.strides[0]);
    const float g = *cb_f32(&dlp, n * dlp.strides[0]);
    const float l = *cb_f32(&lse, n * lse.strides[0]);
    const int32_t t = *cb_i32(&targets, n * targets.strides[0]);
    if (sx == 1 && sd == 1)
      for (int64_t v = 0; v < V; v++) dx[v] -= g * expf(x[v] - l);
    else
      for (int64_t v = 0; v < V; v++) dx[v * sd] -= g * expf(x[v * sx] - l);
    dx[t * sd] += g;
  }
  return cb_done(be, 4.0 * (double)(N * V), 4.0 * (double)(3 * N * V + 3 * N));
}
