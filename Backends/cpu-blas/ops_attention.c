/* cpu-blas: causal grouped-query attention, forward and backward.
 *
 * Per (batch, query head) the [T, D] query slice and the [S, D] key/value slices of its KV
 * head are handed to cblas_sgemm directly when their strides allow it (packed otherwise).
 * Queries go in blocks of ATTN_BLOCK rows; each block only touches the key range it can see
 * (k_start ... the block's last visible key), so scratch memory is O(ATTN_BLOCK * S) and a
 * causal mask costs about half the full product. The backward pass recomputes P from lse:
 *   dV += P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dO * O));  dQ += scale dS K;
 *   dK += scale dS^T Q. */
#include "gemm.h"
#include "tensor_view.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#define ATTN_BLOCK 128

typedef struct attn {
  const char *op;
  cb_view q, k, v, out, lse, qpos, kstart, dout, dq, dk, dv;
  int64_t B, T, S, Hq, Hkv, D, group;
  float scale;
} attn;

static rlax_error *attn_shapes(cb_check *c, attn *A) {
  A->B = cb_dim(c, "B");
  A->T = cb_dim(c, "T");
  A->S = cb_dim(c, "S");
  A->Hq = cb_dim(c, "Hq");
  A->Hkv = cb_dim(c, "Hkv");
  A->D = cb_dim(c, "D");
  if ((A->Hkv == 0 && A->Hq != 0) || (A->Hkv != 0 && A->Hq % A->Hkv != 0))
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: k.shape[2] is %" PRId64 ", expected Hkv dividing Hq = %" PRId64, c->op,
                  A->Hkv, A->Hq);
  A->group = A->Hkv ? A->Hq / A->Hkv : 1;
  if (A->T > INT_MAX || A->S > INT_MAX || A->D > INT_MAX)
    return cb_err(RLAX_ERROR_UNIMPLEMENTED, "%s: T, S or D exceeds what cblas can index", c->op);
  return NULL;
}

/* First visible key of row b, and the last visible key of each query (hi[t] < klo: none). */
static int64_t attn_visibility(const attn *A, int64_t b, int64_t *hi) {
  int64_t klo = 0;
  if (A->kstart.present) {
    klo = *cb_i32(&A->kstart, b * A->kstart.strides[0]);
    if (klo < 0) klo = 0;
  }
  for (int64_t t = 0; t < A->T; t++) {
    int64_t p = A->qpos.present
                    ? (int64_t)*cb_i32(&A->qpos, b * A->qpos.strides[0] + t * A->qpos.strides[1])
                    : A->S - A->T + t;
    hi[t] = p < A->S - 1 ? p : A->S - 1;
  }
  return klo;
}

/* Pointer to row 0 of the (b, h) slice of a [B, R, H, D] tensor. */
static float *slice(const cb_view *X, int64_t b, int64_t h) {
  return cb_f32(X, b * X->strides[0] + h * X->strides[2]);
}

/* The (b, h) slice as a cblas matrix [R, D] (packed into scratch when it must be). */
static cb_mat slice_mat(const cb_view *X, int64_t b, int64_t h, float *scratch) {
  return cb_mat_get(slice(X, b, h), X->shape[1], X->shape[3], X->strides[1], X->strides[3],
                    scratch);
}

/* True when every (b, h) slice of X can be used by cblas without packing. */
static bool slice_direct(const cb_view *X, bool need_row_major) {
  cb_mat m;
  return cb_mat_direct((const float *)X->data, X->shape[1], X->shape[3], X->strides[1],
                       X->strides[3], &m) &&
         !(need_row_major && m.trans);
}

static cb_mat mat_rows(cb_mat m, int64_t r0) {
  m.p += m.trans ? r0 : r0 * m.ld;
  return m;
}
static cb_mat mat_t(cb_mat m) {
  m.trans = !m.trans;
  return m;
}
static cb_mat mat_plain(const float *p, int64_t ld, bool trans) {
  cb_mat m = {p, ld > 1 ? ld : 1, trans};
  return m;
}

/* Scratch buffers; NULL where not needed. */
enum { SB_S, SB_DP, SB_Q, SB_K, SB_V, SB_O, SB_DO, SB_DQ, SB_DK, SB_DV, SB_HI, SB_DI, SB_N };

static rlax_error *alloc_all(const char *op, float **bufs, const size_t *sizes) {
  for (int i = 0; i < SB_N; i++) {
    bufs[i] = NULL;
    if (!sizes[i]) continue;
    bufs[i] = cb_scratch(sizes[i]);
    if (!bufs[i]) {
      for (int j = 0; j < i; j++) free(bufs[j]);
      return cb_err(RLAX_ERROR_OUT_OF_MEMORY, "%s: out of memory for scratch (%zu floats)", op,
                    sizes[i]);
    }
  }
  return NULL;
}

static void free_all(float **bufs) {
  for (int i = 0; i < SB_N; i++) free(bufs[i]);
}

/* ---------------------------------------------------------------------------------------- */

rlax_error *cb_attention_forward(rlax_backend *be, const rlax_attention_forward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "attention_forward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_attention_forward_args, scale));
  attn A;
  memset(&A, 0, sizeof A);
  A.op = c.op;
  A.scale = a->scale;
  TRY(cb_view_spec(&c, "q", a->q, CB_F32, CB_IN, "B,T,Hq,D", &A.q));
  TRY(cb_view_spec(&c, "k", a->k, CB_F32, CB_IN, "B,S,Hkv,D", &A.k));
  TRY(cb_view_spec(&c, "v", a->v, CB_F32, CB_IN, "B,S,Hkv,D", &A.v));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_OUT, "B,T,Hq,D", &A.out));
  TRY(cb_view_spec(&c, "lse", a->lse, CB_F32, CB_OUT | CB_OPTIONAL, "B,Hq,T", &A.lse));
  TRY(cb_view_spec(&c, "q_positions", a->q_positions, CB_I32, CB_OPTIONAL, "B,T", &A.qpos));
  TRY(cb_view_spec(&c, "k_start", a->k_start, CB_I32, CB_OPTIONAL, "B", &A.kstart));
  TRY(attn_shapes(&c, &A));
  const int64_t B = A.B, T = A.T, S = A.S, Hq = A.Hq, D = A.D;
  const double bytes = 4.0 * (double)(A.q.numel + A.k.numel + A.v.numel + A.out.numel +
                                      (A.lse.present ? A.lse.numel : 0));
  if (B == 0 || T == 0 || Hq == 0) return cb_done(be, 0.0, bytes);
  const int64_t TB = T < ATTN_BLOCK ? T : ATTN_BLOCK;

  size_t sz[SB_N] = {0};
  sz[SB_S] = (size_t)(TB * (S > 0 ? S : 1));
  if (!slice_direct(&A.q, false)) sz[SB_Q] = (size_t)(T * D);
  if (!slice_direct(&A.k, false)) sz[SB_K] = (size_t)(S * D);
  if (!slice_direct(&A.v, false)) sz[SB_V] = (size_t)(S * D);
  const bool o_direct = slice_direct(&A.out, true);
  if (!o_direct) sz[SB_O] = (size_t)(T * D);
  sz[SB_HI] = (size_t)T * 2; /* int64 per query */
  float *buf[SB_N];
  TRY(alloc_all(c.op, buf, sz));
  int64_t *hi = (int64_t *)(void *)buf[SB_HI];
  float *sbuf = buf[SB_S];
  double flops = 0.0;

  for (int64_t b = 0; b < B; b++) {
    const int64_t klo = attn_visibility(&A, b, hi);
    cb_mat Km = {0}, Vm = {0};
    int64_t kv_loaded = -1;
    for (int64_t h = 0; h < Hq; h++) {
      const int64_t g = h / A.group;
      if (g != kv_loaded) {
        Km = slice_mat(&A.k, b, g, buf[SB_K]);
        Vm = slice_mat(&A.v, b, g, buf[SB_V]);
        kv_loaded = g;
      }
      const cb_mat Qm = slice_mat(&A.q, b, h, buf[SB_Q]);
      float *O = o_direct ? slice(&A.out, b, h) : buf[SB_O];
      const int64_t ldo = o_direct ? (T > 1 ? A.out.strides[1] : (D > 1 ? D : 1)) : D;
      for (int64_t t0 = 0; t0 < T; t0 += TB) {
        const int64_t nb = T - t0 < TB ? T - t0 : TB;
        int64_t khi = -1;
        for (int64_t i = 0; i < nb; i++) khi = hi[t0 + i] > khi ? hi[t0 + i] : khi;
        const int64_t nk = khi >= klo ? khi - klo + 1 : 0;
        if (nk > 0)
          cb_gemm(nb, nk, D, A.scale, mat_rows(Qm, t0), mat_t(mat_rows(Km, klo)), 0.0f, sbuf, nk);
        for (int64_t i = 0; i < nb; i++) {
          const int64_t t = t0 + i, lim = hi[t] - klo; /* last visible column */
          float *row = sbuf + i * nk;
          float lse = -INFINITY;
          if (lim >= 0) {
            float mx = -INFINITY;
            for (int64_t j = 0; j <= lim; j++) mx = row[j] > mx ? row[j] : mx;
            double sum = 0.0;
            for (int64_t j = 0; j <= lim; j++) {
              const float e = expf(row[j] - mx);
              row[j] = e;
              sum += e;
            }
            const float inv = (float)(1.0 / sum);
            for (int64_t j = 0; j <= lim; j++) row[j] *= inv;
            lse = (float)((double)mx + log(sum));
          }
          for (int64_t j = lim + 1 > 0 ? lim + 1 : 0; j < nk; j++) row[j] = 0.0f;
          if (nk == 0)
            for (int64_t d = 0; d < D; d++) O[(t0 + i) * ldo + d] = 0.0f;
          if (A.lse.present)
            *cb_f32(&A.lse, b * A.lse.strides[0] + h * A.lse.strides[1] + t * A.lse.strides[2]) =
                lse;
        }
        if (nk > 0)
          cb_gemm(nb, D, nk, 1.0f, mat_plain(sbuf, nk, false), mat_rows(Vm, klo), 0.0f,
                  O + t0 * ldo, ldo);
        flops += 4.0 * (double)nb * (double)nk * (double)D + 5.0 * (double)nb * (double)nk;
      }
      if (!o_direct)
        cb_unpack(slice(&A.out, b, h), A.out.strides[1], A.out.strides[3], O, T, D, false);
    }
  }
  free_all(buf);
  return cb_done(be, flops, bytes);
}

/* ---------------------------------------------------------------------------------------- */

rlax_error *cb_attention_backward(rlax_backend *be, const rlax_attention_backward_args *a) {
  cb_check c;
  cb_check_init(&c, be, "attention_backward");
  TRY(CB_CHECK_ARGS(&c, a, rlax_attention_backward_args, scale));
  attn A;
  memset(&A, 0, sizeof A);
  A.op = c.op;
  A.scale = a->scale;
  TRY(cb_view_spec(&c, "q", a->q, CB_F32, CB_IN, "B,T,Hq,D", &A.q));
  TRY(cb_view_spec(&c, "k", a->k, CB_F32, CB_IN, "B,S,Hkv,D", &A.k));
  TRY(cb_view_spec(&c, "v", a->v, CB_F32, CB_IN, "B,S,Hkv,D", &A.v));
  TRY(cb_view_spec(&c, "out", a->out, CB_F32, CB_IN, "B,T,Hq,D", &A.out));
  TRY(cb_view_spec(&c, "lse", a->lse, CB_F32, CB_IN, "B,Hq,T", &A.lse));
  TRY(cb_view_spec(&c, "dout", a->dout, CB_F32, CB_IN, "B,T,Hq,D", &A.dout));
  TRY(cb_view_spec(&c, "q_positions", a->q_positions, CB_I32, CB_OPTIONAL, "B,T", &A.qpos));
  TRY(cb_view_spec(&c, "k_start", a->k_start, CB_I32, CB_OPTIONAL, "B", &A.kstart));
  TRY(cb_view_spec(&c, "dq", a->dq, CB_F32, CB_OUT, "B,T,Hq,D", &A.dq));
  TRY(cb_view_spec(&c, "dk", a->dk, CB_F32, CB_OUT, "B,S,Hkv,D", &A.dk));
  TRY(cb_view_spec(&c, "dv", a->dv, CB_F32, CB_OUT, "B,S,Hkv,D", &A.dv));
  TRY(attn_shapes(&c, &A));
  const int64_t B = A.B, T = A.T, S = A.S, Hq = A.Hq, D = A.D;
  const double bytes =
      4.0 * (double)(A.q.numel * 5 + A.k.numel * 4 + A.v.numel * 4 + A.lse.numel);
  if (B == 0 || T == 0 || Hq == 0 || S == 0) return cb_done(be, 0.0, bytes);
  const int64_t TB = T < ATTN_BLOCK ? T : ATTN_BLOCK;

  size_t sz[SB_N] = {0};
  sz[SB_S] = sz[SB_DP] = (size_t)(TB * S);
  if (!slice_direct(&A.q, false)) sz[SB_Q] = (size_t)(T * D);
  if (!slice_direct(&A.k, false)) sz[SB_K] = (size_t)(S * D);
  if (!slice_direct(&A.v, false)) sz[SB_V] = (size_t)(S * D);
  if (!slice_direct(&A.dout, false)) sz[SB_DO] = (size_t)(T * D);
  const bool dq_direct = slice_direct(&A.dq, true), dk_direct = slice_direct(&A.dk, true),
             dv_direct = slice_direct(&A.dv, true);
  if (!dq_direct) sz[SB_DQ] = (size_t)(T * D);
  if (!dk_direct) sz[SB_DK] = (size_t)(S * D);
  if (!dv_direct) sz[SB_DV] = (size_t)(S * D);
  sz[SB_HI] = (size_t)T * 2;
  sz[SB_DI] = (size_t)T;
  float *buf[SB_N];
  TRY(alloc_all(c.op, buf, sz));
  int64_t *hi = (int64_t *)(void *)buf[SB_HI];
  float *sbuf = buf[SB_S], *dpbuf = buf[SB_DP], *Di = buf[SB_DI];
  double flops = 0.0;
  const int64_t Dld = D > 1 ? D : 1;

  for (int64_t b = 0; b < B; b++) {
    const int64_t klo = attn_visibility(&A, b, hi);
    cb_mat Km = {0}, Vm = {0};
    int64_t kv_loaded = -1;
    for (int64_t h = 0; h < Hq; h++) {
      const int64_t g = h / A.group;
      if (g != kv_loaded) {
        Km = slice_mat(&A.k, b, g, buf[SB_K]);
        Vm = slice_mat(&A.v, b, g, buf[SB_V]);
        kv_loaded = g;
      }
      const cb_mat Qm = slice_mat(&A.q, b, h, buf[SB_Q]);
      const cb_mat dOm = slice_mat(&A.dout, b, h, buf[SB_DO]);
      float *dQ = dq_direct ? slice(&A.dq, b, h) : buf[SB_DQ];
      float *dK = dk_direct ? slice(&A.dk, b, g) : buf[SB_DK];
      float *dV = dv_direct ? slice(&A.dv, b, g) : buf[SB_DV];
      const int64_t lddq = dq_direct && T > 1 ? A.dq.strides[1] : Dld;
      const int64_t lddk = dk_direct && S > 1 ? A.dk.strides[1] : Dld;
      const int64_t lddv = dv_direct && S > 1 ? A.dv.strides[1] : Dld;
      if (!dq_direct) memset(dQ, 0, (size_t)(T * D) * sizeof(float));
      if (!dk_direct) memset(dK, 0, (size_t)(S * D) * sizeof(float));
      if (!dv_direct) memset(dV, 0, (size_t)(S * D) * sizeof(float));
      /* Di = rowsum(dO * O), and each query's lse */
      for (int64_t t = 0; t < T; t++) {
        const float *o = slice(&A.out, b, h) + t * A.out.strides[1];
        const float *d = slice(&A.dout, b, h) + t * A.dout.strides[1];
        double s = 0.0;
        for (int64_t j = 0; j < D; j++)
          s += (double)o[j * A.out.strides[3]] * (double)d[j * A.dout.strides[3]];
        Di[t] = (float)s;
      }
      bool touched = false;
      for (int64_t t0 = 0; t0 < T; t0 += TB) {
        const int64_t nb = T - t0 < TB ? T - t0 : TB;
        int64_t khi = -1;
        for (int64_t i = 0; i < nb; i++) khi = hi[t0 + i] > khi ? hi[t0 + i] : khi;
        if (khi < klo) continue;
        const int64_t nk = khi - klo + 1;
        touched = true;
        /* P, recomputed from lse */
        cb_gemm(nb, nk, D, A.scale, mat_rows(Qm, t0), mat_t(mat_rows(Km, klo)), 0.0f, sbuf, nk);
        for (int64_t i = 0; i < nb; i++) {
          const int64_t t = t0 + i, lim = hi[t] - klo;
          const float l =
              *cb_f32(&A.lse, b * A.lse.strides[0] + h * A.lse.strides[1] + t * A.lse.strides[2]);
          float *row = sbuf + i * nk;
          int64_t j = 0;
          if (lim >= 0 && l != -INFINITY)
            for (; j <= lim; j++) row[j] = expf(row[j] - l);
          for (; j < nk; j++) row[j] = 0.0f;
        }
        /* dV += P^T dO */
        cb_gemm(nk, D, nb, 1.0f, mat_plain(sbuf, nk, true), mat_rows(dOm, t0), 1.0f,
                dV + klo * lddv, lddv);
        /* dP = dO V^T;  dS = P * (dP - Di) */
        cb_gemm(nb, nk, D, 1.0f, mat_rows(dOm, t0), mat_t(mat_rows(Vm, klo)), 0.0f, dpbuf, nk);
        for (int64_t i = 0; i < nb; i++) {
          const float di = Di[t0 + i];
          float *dp = dpbuf + i * nk;
          const float *p = sbuf + i * nk;
          for (int64_t j = 0; j < nk; j++) dp[j] = p[j] * (dp[j] - di);
        }
        /* dQ += scale dS K;  dK += scale dS^T Q */
        cb_gemm(nb, D, nk, A.scale, mat_plain(dpbuf, nk, false), mat_rows(Km, klo), 1.0f,
                dQ + t0 * lddq, lddq);
        cb_gemm(nk, D, nb, A.scale, mat_plain(dpbuf, nk, true), mat_rows(Qm, t0), 1.0f,
                dK + klo * lddk, lddk);
        flops += 10.0 * (double)nb * (double)nk * (double)D + 6.0 * (double)nb * (double)nk;
      }
      if (touched) {
        if (!dq_direct)
          cb_unpack(slice(&A.dq, b, h), A.dq.strides[1], A.dq.strides[3], dQ, T, D, true);
        if (!dk_direct)
          cb_unpack(slice(&A.dk, b, g), A.dk.strides[1], A.dk.strides[3], dK, S, D, true);
        if (!dv_direct)
          cb_unpack(slice(&A.dv, b, g), A.dv.strides[1], A.dv.strides[3], dV, S, D, true);
      }
    }
  }
  free_all(buf);
  return cb_done(be, flops, bytes);
}
