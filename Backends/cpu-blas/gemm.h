/* cpu-blas: strided matrices handed to cblas_sgemm, shared by matmul and attention. */
#ifndef CPU_BLAS_GEMM_H
#define CPU_BLAS_GEMM_H

#include <stdbool.h>
#include <stdint.h>

/* A logical [R, C] matrix as cblas sees it: row-major storage at p with leading dimension
 * ld, read transposed when trans (then the storage is [C, R]). */
typedef struct cb_mat {
  const float *p;
  int64_t ld;
  bool trans;
} cb_mat;

/* Describes the logical [R, C] matrix at p with element strides (sr, sc) for cblas without
 * copying: true when one of the two dims has unit stride and the other a usable leading
 * dimension. */
bool cb_mat_direct(const float *p, int64_t R, int64_t C, int64_t sr, int64_t sc, cb_mat *m);

/* dst[r*C + c] = src[r*sr + c*sc] (contiguous copy of a strided [R, C] matrix). */
void cb_pack(float *dst, const float *src, int64_t R, int64_t C, int64_t sr, int64_t sc);

/* dst[r*sr + c*sc] (= or +=) src[r*C + c]. */
void cb_unpack(float *dst, int64_t sr, int64_t sc, const float *src, int64_t R, int64_t C,
               bool accumulate);

/* A [R, C] matrix usable directly, or packed into scratch (R*C floats). */
cb_mat cb_mat_get(const float *p, int64_t R, int64_t C, int64_t sr, int64_t sc, float *scratch);

/* C[M, N] (row-major, leading dimension ldc) = alpha * A[M, K] B[K, N] + beta * C; beta = 0
 * ignores C's contents. Handles empty sizes. */
void cb_gemm(int64_t M, int64_t N, int64_t K, float alpha, cb_mat A, cb_mat B, float beta,
             float *C, int64_t ldc);

#endif /* CPU_BLAS_GEMM_H */
