/*
 * cpu-blas: validation of op arguments and tensor descriptors, and strided iteration.
 *
 * Every op validates its operands through cb_view_spec / cb_view_shape, which check the
 * descriptor (struct_size, buffer, dtype, rank, shape, strides, bounds, self-overlap of
 * outputs) and bind named dimensions ("B,T,Hq,D") across operands, so that a mismatch reads
 * "attention_forward: k.shape[3] is 5, expected D = 4".
 */
#ifndef CPU_BLAS_TENSOR_VIEW_H
#define CPU_BLAS_TENSOR_VIEW_H

#include "cpu_blas.h"

/* A validated view: data points at element [0, ..., 0]; strides in elements. */
typedef struct cb_view {
  bool present; /* false for an optional operand given as NULL */
  char *data;
  rlax_dtype dtype;
  size_t esize;
  int rank;
  int64_t shape[RLAX_MAX_RANK];
  int64_t strides[RLAX_MAX_RANK];
  int64_t numel;
} cb_view;

/* Dtype masks. */
#define CB_F32 RLAX_DTYPE_BIT(RLAX_DTYPE_F32)
#define CB_I32 RLAX_DTYPE_BIT(RLAX_DTYPE_I32)
#define CB_BF16 RLAX_DTYPE_BIT(RLAX_DTYPE_BF16)
#define CB_STORAGE (CB_F32 | CB_I32 | CB_BF16)

/* Operand flags. */
enum {
  CB_IN = 0,
  CB_OUT = 1u << 0,     /* written: must not overlap itself */
  CB_OPTIONAL = 1u << 1 /* may be NULL */
};

/* Returns the error of a validation step, if any. */
#define TRY(expr)              \
  do {                         \
    rlax_error *err_ = (expr); \
    if (err_) return err_;     \
  } while (0)

#define CB_MAX_DIMS 16

/* Per-call validation context: the op's name and the dimensions bound so far. */
typedef struct cb_check {
  rlax_backend *be;
  const char *op;
  int ndims;
  struct {
    char name[16];
    int64_t value;
  } dims[CB_MAX_DIMS];
} cb_check;

void cb_check_init(cb_check *c, rlax_backend *be, const char *op);

/* Checks the args pointer and that its struct_size covers `needed` bytes. */
rlax_error *cb_check_args(const cb_check *c, const void *args, size_t needed);
#define CB_CHECK_ARGS(c, args, type, last_field)                                             \
  cb_check_args((c), (args), offsetof(type, last_field) + sizeof(((type *)0)->last_field))

/* Validates tensor `t` (operand `name`) against a spec of comma-separated dimension names,
 * e.g. "B,T,Hq,D" (rank = number of names; "" is a scalar). A name seen before must match its
 * bound value; a new name is bound to this operand's size. */
rlax_error *cb_view_spec(cb_check *c, const char *name, const rlax_tensor *t, uint32_t dtypes,
                         unsigned flags, const char *spec, cb_view *v);

/* Validates `t` against an explicit rank and shape (shape NULL: any shape of that rank; rank
 * < 0: any rank). `like` names where the expected shape came from, for messages ("out"). */
rlax_error *cb_view_shape(cb_check *c, const char *name, const rlax_tensor *t, uint32_t dtypes,
                          unsigned flags, int rank, const int64_t *shape, const char *like,
                          cb_view *v);

/* The value bound to a dimension name (-1 if unbound). */
int64_t cb_dim(const cb_check *c, const char *name);

const char *cb_dtype_name(rlax_dtype d);

/* Pointer to element with the given element offset. */
static inline float *cb_f32(const cb_view *v, int64_t elem_offset) {
  return (float *)(void *)v->data + elem_offset;
}
static inline int32_t *cb_i32(const cb_view *v, int64_t elem_offset) {
  return (int32_t *)(void *)v->data + elem_offset;
}

/* Iterates views that all have views[0]'s shape (broadcast inputs carry stride 0): merges
 * dimensions that are contiguous in every view, then calls fn once per innermost run with n
 * elements, each view's pointer to the run's first element and each view's element stride. */
typedef void (*cb_run_fn)(void *ctx, int64_t n, char *const *ptrs, const int64_t *strides);
#define CB_MAX_OPERANDS 6
void cb_foreach(int nviews, const cb_view *const *views, cb_run_fn fn, void *ctx);

/* A copy of v with its last dimension dropped (to iterate rows of the last axis). */
cb_view cb_view_drop_last(const cb_view *v);

/* Element offset of the index given as a linear (row-major) index over the first `ndims`
 * dimensions of v. */
int64_t cb_offset_of(const cb_view *v, int ndims, int64_t linear);

/* bf16 <-> f32. */
static inline float cb_bf16_to_f32(uint16_t h) {
  union { uint32_t u; float f; } x;
  x.u = (uint32_t)h << 16;
  return x.f;
}
static inline uint16_t cb_f32_to_bf16(float f) {
  union { uint32_t u; float f; } x;
  x.f = f;
  if ((x.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x.u >> 16) | 0x40u); /* quiet NaN */
  uint32_t rounding = 0x7fffu + ((x.u >> 16) & 1u); /* round to nearest, ties to even */
  return (uint16_t)((x.u + rounding) >> 16);
}

#endif /* CPU_BLAS_TENSOR_VIEW_H */
