/* cpu-blas: matmul on cblas_sgemm, with packing for views cblas cannot address. */
#include "gemm.h"
#include "tensor_view.h"

#include "openblas.h"
#include <inttypes.h>
#include <limits.h>
#include <string.h>

bool cb_mat_direct(const float *p, int64_t R, int64_t C, int64_t sr, int64_t sc, cb_mat *m) {
  m->p = p;
  /* row-major: unit column stride, leading dimension sr >= C */
  if (sc == 1 || C <= 1) {
    int64_t ld = R <= 1 ? (C > 1 ? C : 1) : sr;
    if (ld >= C && ld >= 1 && ld <= INT_MAX) {
      m->ld = ld;
      m->trans = false;
      return true;
    }
  }
  /* column-major, i.e. the transpose of a row-major [C, R] */
  if (sr == 1 || R <= 1) {
    int64_t ld = C <= 1 ? (R > 1 ? R : 1) : sc;
    if (ld >= R && ld >= 1 && ld <= INT_MAX) {
      m->ld = ld;
      m->trans = true;
      return true;
    }
  }
  return false;
}

void cb_pack(float *dst, const float *src, int64_t R, int64_t C, int64_t sr, int64_t sc) {
  for (int64_t r = 0; r < R; r++) {
    const float *s = src + r * sr;
    float *d = dst + r * C;
    if (sc == 1) memcpy(d, s, (size_t)C * sizeof(float));
    else
      for (int64_t c = 0; c < C; c++) d[c] = s[c * sc];
  }
}

void cb_unpack(float *dst, int64_t sr, int64_t sc, const float *src, int64_t R, int64_t C,
               bool accumulate) {
  for (int64_t r = 0; r < R; r++) {
    float *d = dst + r * sr;
    const float *s = src + r * C;
    if (accumulate) {
      if (sc == 1)
        for (int64_t c = 0; c < C; c++) d[c] += s[c];
      else
        for (int64_t c = 0; c < C; c++) d[c * sc] += s[c];
    } else {
      if (sc == 1) memcpy(d, s, (size_t)C * sizeof(float));
      else
        for (int64_t c = 0; c < C; c++) d[c * sc] = s[c];
    }
  }
}

cb_mat cb_mat_get(const float *p, int64_t R, int64_t C, int64_t sr, int64_t sc, float *scratch) {
  cb_mat m;
  if (cb_mat_direct(p, R, C, sr, sc, &m)) return m;
  cb_pack(scratch, p, R, C, sr, sc);
  m.p = scratch;
  m.ld = C > 1 ? C : 1;
  m.trans = false;
  return m;
}

void cb_gemm(int64_t M, int64_t N, int64_t K, float alpha, cb_mat A, cb_mat B, float beta,
             float *C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
    return;
  }
  cb_openblas.sgemm(CblasRowMajor, A.trans ? CblasTrans : CblasNoTrans,
                    B.trans ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha,
                    A.p, (blasint)A.ld, B.p, (blasint)B.ld, beta, C, (blasint)(ldc > 1 ? ldc : 1));
}

/* ---------------------------------------------------------------------------------------- */

static int peek_rank(const rlax_tensor *t) {
  return (t && RLAX_STRUCT_HAS_FIELD(rlax_tensor, t->struct_size, strides)) ? (int)t->rank : -1;
}

rlax_error *cb_matmul(rlax_backend *be, const rlax_matmul_args *args) {
  cb_check c;
  cb_check_init(&c, be, "matmul");
  TRY(CB_CHECK_ARGS(&c, args, rlax_matmul_args, beta));
  const bool ta = args->transpose_a, tb = args->transpose_b;
  int rc = peek_rank(args->c), ra = peek_rank(args->a), rb = peek_rank(args->b);
  if (rc != -1 && rc != 2 && rc != 3)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: c.rank is %d, expected 2 or 3", rc);
  if (rc == -1) rc = 2;
  const int maxr = rc;
  if (ra != -1 && (ra < 2 || ra > maxr))
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: a.rank is %d, expected %s", ra,
                  maxr == 3 ? "2 or 3" : "2 (c.rank is 2)");
  if (rb != -1 && (rb < 2 || rb > maxr))
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "matmul: b.rank is %d, expected %s", rb,
                  maxr == 3 ? "2 or 3" : "2 (c.rank is 2)");
  char sa[32], sb[32];
  snprintf(sa, sizeof sa, "%s%s", ra == 3 ? "batch," : "", ta ? "K,M" : "M,K");
  snprintf(sb, sizeof sb, "%s%s", rb == 3 ? "batch," : "", tb ? "N,K" : "K,N");
  cb_view a, b, cv;
  TRY(cb_view_spec(&c, "a", args->a, CB_F32, CB_IN, sa, &a));
  TRY(cb_view_spec(&c, "b", args->b, CB_F32, CB_IN, sb, &b));
  TRY(cb_view_spec(&c, "c", args->c, CB_F32, CB_OUT, rc == 3 ? "batch,M,N" : "M,N", &cv));
  const int64_t M = cb_dim(&c, "M"), N = cb_dim(&c, "N"), K = cb_dim(&c, "K");
  const int64_t batch = rc == 3 ? cv.shape[0] : 1;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX)
    return cb_err(RLAX_ERROR_UNIMPLEMENTED,
                  "matmul: M = %" PRId64 ", N = %" PRId64 ", K = %" PRId64
                  " exceeds what cblas can index (%d)",
                  M, N, K, INT_MAX);
  const float alpha = args->alpha, beta = args->beta;
  const double flops = 2.0 * (double)batch * (double)M * (double)N * (double)K;
  const double bytes =
      4.0 * ((double)a.numel + (double)b.numel + (double)cv.numel * (beta != 0.0f ? 2.0 : 1.0));
  if (M == 0 || N == 0 || batch == 0) return cb_done(be, flops, bytes);

  /* logical strides: A [M,K], B [K,N], C [M,N], and batch strides */
  const int64_t a_bs = a.rank == 3 ? a.strides[0] : 0, b_bs = b.rank == 3 ? b.strides[0] : 0;
  const int64_t c_bs = cv.rank == 3 ? cv.strides[0] : 0;
  const int64_t *as = a.strides + a.rank - 2, *bs = b.strides + b.rank - 2;
  const int64_t *cs = cv.strides + cv.rank - 2;
  const int64_t a_sr = ta ? as[1] : as[0], a_sc = ta ? as[0] : as[1];
  const int64_t b_sr = tb ? bs[1] : bs[0], b_sc = tb ? bs[0] : bs[1];
  const int64_t c_sr = cs[0], c_sc = cs[1];
  const float *A0 = cb_f32(&a, 0), *B0 = cb_f32(&b, 0);
  float *C0 = cb_f32(&cv, 0);

  /* b shared by every batch, a and c rows evenly spaced across batches: one sgemm with
   * batch*M rows */
  if (batch > 1 && b_bs == 0 && batch * M <= INT_MAX) {
    int64_t a_rs = M > 1 ? a_sr : a_bs, c_rs = M > 1 ? c_sr : c_bs;
    cb_mat Am, Bm, Cm;
    if ((M == 1 || (a_bs == M * a_sr && c_bs == M * c_sr)) &&
        cb_mat_direct(A0, batch * M, K, a_rs, a_sc, &Am) && !Am.trans &&
        cb_mat_direct(C0, batch * M, N, c_rs, c_sc, &Cm) && !Cm.trans &&
        cb_mat_direct(B0, K, N, b_sr, b_sc, &Bm)) {
      cb_gemm(batch * M, N, K, alpha, Am, Bm, beta, C0, Cm.ld);
      return cb_done(be, flops, bytes);
    }
  }

  cb_mat Cm;
  const bool c_direct = cb_mat_direct(C0, M, N, c_sr, c_sc, &Cm);
  cb_mat Ad, Bd;
  const bool a_direct = cb_mat_direct(A0, M, K, a_sr, a_sc, &Ad);
  const bool b_direct = cb_mat_direct(B0, K, N, b_sr, b_sc, &Bd);
  float *abuf = NULL, *bbuf = NULL, *cbuf = NULL;
  if ((!a_direct && !(abuf = cb_scratch((size_t)(M * K)))) ||
      (!b_direct && !(bbuf = cb_scratch((size_t)(K * N)))) ||
      (!c_direct && !(cbuf = cb_scratch((size_t)(M * N))))) {
    free(abuf);
    free(bbuf);
    free(cbuf);
    return cb_err(RLAX_ERROR_OUT_OF_MEMORY, "matmul: out of memory for packing buffers");
  }
  cb_mat Am = Ad, Bm = Bd;
  for (int64_t i = 0; i < batch; i++) {
    const float *Ap = A0 + i * a_bs, *Bp = B0 + i * b_bs;
    float *Cp = C0 + i * c_bs;
    if (a_direct) Am.p = Ap;
    else if (i == 0 || a_bs != 0) Am = cb_mat_get(Ap, M, K, a_sr, a_sc, abuf);
    if (b_direct) Bm.p = Bp;
    else if (i == 0 || b_bs != 0) Bm = cb_mat_get(Bp, K, N, b_sr, b_sc, bbuf);
    if (c_direct && !Cm.trans) {
      cb_gemm(M, N, K, alpha, Am, Bm, beta, Cp, Cm.ld);
    } else if (c_direct) { /* C column-major: C^T = B^T A^T, row-major */
      cb_mat At = Am, Bt = Bm;
      At.trans = !At.trans;
      Bt.trans = !Bt.trans;
      cb_gemm(N, M, K, alpha, Bt, At, beta, Cp, Cm.ld);
    } else {
      if (beta != 0.0f) cb_pack(cbuf, Cp, M, N, c_sr, c_sc);
      cb_gemm(M, N, K, alpha, Am, Bm, beta, cbuf, N);
      cb_unpack(Cp, c_sr, c_sc, cbuf, M, N, false);
    }
  }
  free(abuf);
  free(bbuf);
  free(cbuf);
  return cb_done(be, flops, bytes);
}
