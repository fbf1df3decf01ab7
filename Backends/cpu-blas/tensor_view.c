/* cpu-blas: descriptor validation, named-dimension binding and strided iteration. */
#include "tensor_view.h"

#include <inttypes.h>
#include <string.h>

const char *cb_dtype_name(rlax_dtype d) {
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

static void dtype_mask_names(uint32_t mask, char *buf, size_t cap) {
  buf[0] = '\0';
  for (int d = 1; d <= 7; d++) {
    if (!(mask & RLAX_DTYPE_BIT(d))) continue;
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? " or " : "", cb_dtype_name((rlax_dtype)d));
  }
}

void cb_check_init(cb_check *c, rlax_backend *be, const char *op) {
  c->be = be;
  c->op = op;
  c->ndims = 0;
}

rlax_error *cb_check_args(const cb_check *c, const void *args, size_t needed) {
  if (!c->be) return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: backend is NULL", c->op);
  if (!args) return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: args is NULL", c->op);
  size_t have = *(const size_t *)args;
  if (have < needed)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: args.struct_size is %zu, expected at least %zu",
                  c->op, have, needed);
  return NULL;
}

int64_t cb_dim(const cb_check *c, const char *name) {
  for (int i = 0; i < c->ndims; i++)
    if (strcmp(c->dims[i].name, name) == 0) return c->dims[i].value;
  return -1;
}

/* Checks everything that does not depend on the expected shape: pointer, struct_size, buffer,
 * dtype, rank (when rank >= 0). Fills v's pointer, dtype, rank, shape and strides. */
static rlax_error *view_basic(const cb_check *c, const char *name, const rlax_tensor *t,
                              uint32_t dtypes, unsigned flags, int rank, const char *rank_hint,
                              cb_view *v) {
  memset(v, 0, sizeof *v);
  if (!t) {
    if (flags & CB_OPTIONAL) return NULL;
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", c->op, name);
  }
  if (!RLAX_STRUCT_HAS_FIELD(rlax_tensor, t->struct_size, strides))
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.struct_size is %zu, expected at least %zu",
                  c->op, name, t->struct_size, sizeof(rlax_tensor));
  const struct rlax_buffer *b = t->buffer;
  if (!b) return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.buffer is NULL", c->op, name);
  if (b->magic != CB_BUFFER_MAGIC || b->owner != c->be)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.buffer is not a live buffer of this backend", c->op, name);
  if (!(dtypes & RLAX_DTYPE_BIT(t->dtype)) || rlax_dtype_size(t->dtype) == 0) {
    char want[64];
    dtype_mask_names(dtypes, want, sizeof want);
    /* A known dtype the op does not support is UNIMPLEMENTED; an index operand that is not
     * I32, or a dtype that is not a dtype, is INVALID_ARGUMENT. */
    rlax_error_code code = (rlax_dtype_size(t->dtype) != 0 && dtypes != CB_I32)
                               ? RLAX_ERROR_UNIMPLEMENTED
                               : RLAX_ERROR_INVALID_ARGUMENT;
    if (rlax_dtype_size(t->dtype) == 0)
      return cb_err(code, "%s: %s.dtype is %d (not a dtype), expected %s", c->op, name,
                    (int)t->dtype, want);
    return cb_err(code, "%s: %s.dtype is %s, expected %s", c->op, name, cb_dtype_name(t->dtype),
                  want);
  }
  if (t->rank < 0 || t->rank > RLAX_MAX_RANK)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.rank is %d, expected 0 ... %d", c->op,
                  name, (int)t->rank, RLAX_MAX_RANK);
  if (rank >= 0 && t->rank != rank)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.rank is %d, expected %d%s%s%s", c->op, name,
                  (int)t->rank, rank, rank_hint ? " (" : "", rank_hint ? rank_hint : "",
                  rank_hint ? ")" : "");
  v->present = true;
  v->dtype = t->dtype;
  v->esize = rlax_dtype_size(t->dtype);
  v->rank = t->rank;
  for (int i = 0; i < t->rank; i++) {
    if (t->shape[i] < 0)
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.shape[%d] is %" PRId64 ", expected >= 0",
                    c->op, name, i, t->shape[i]);
    if (t->strides[i] < 0)
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s.strides[%d] is %" PRId64 ", expected >= 0", c->op, name, i,
                    t->strides[i]);
    v->shape[i] = t->shape[i];
    v->strides[i] = t->strides[i];
  }
  return NULL;
}

/* Bounds and self-overlap, once the shape is known to be right. */
static rlax_error *view_extent(const cb_check *c, const char *name, const rlax_tensor *t,
                               unsigned flags, cb_view *v) {
  const struct rlax_buffer *b = t->buffer;
  int64_t numel = 1;
  for (int i = 0; i < v->rank; i++) {
    if (v->shape[i] == 0) { numel = 0; break; }
  }
  if (numel != 0) {
    for (int i = 0; i < v->rank; i++)
      if (__builtin_mul_overflow(numel, v->shape[i], &numel))
        return cb_err(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s has too many elements", c->op, name);
  }
  v->numel = numel;
  if (t->offset % v->esize != 0)
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s.offset is %" PRIu64 ", expected a multiple of the element size %zu",
                  c->op, name, t->offset, v->esize);
  if (numel == 0) {
    if (t->offset > b->size)
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s.offset is %" PRIu64 ", past the end of its %" PRIu64 "-byte buffer",
                    c->op, name, t->offset, b->size);
    v->data = (char *)b->data + t->offset;
    return NULL;
  }
  /* last element index, then the end in bytes */
  uint64_t last = 0;
  bool overflow = false;
  for (int i = 0; i < v->rank; i++) {
    uint64_t term;
    overflow |= __builtin_mul_overflow((uint64_t)(v->shape[i] - 1), (uint64_t)v->strides[i], &term);
    overflow |= __builtin_add_overflow(last, term, &last);
  }
  uint64_t end;
  overflow |= __builtin_add_overflow(last, 1u, &end);
  overflow |= __builtin_mul_overflow(end, (uint64_t)v->esize, &end);
  overflow |= __builtin_add_overflow(end, t->offset, &end);
  if (overflow || end > b->size) {
    if (overflow)
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s addresses elements past the end of its %" PRIu64 "-byte buffer "
                    "(the extent overflows)",
                    c->op, name, b->size);
    return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "%s: %s addresses bytes [%" PRIu64 ", %" PRIu64 ") but its buffer holds %" PRIu64
                  " bytes",
                  c->op, name, t->offset, end, b->size);
  }
  if (flags & CB_OUT) {
    /* Sufficient condition for no self-overlap: sorted by stride, each stride reaches past
     * the extent of the smaller ones. */
    int idx[RLAX_MAX_RANK], n = 0;
    for (int i = 0; i < v->rank; i++)
      if (v->shape[i] > 1) idx[n++] = i;
    for (int i = 1; i < n; i++)
      for (int j = i; j > 0 && v->strides[idx[j - 1]] > v->strides[idx[j]]; j--) {
        int tmp = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = tmp;
      }
    int64_t extent = 1;
    for (int i = 0; i < n; i++) {
      int d = idx[i];
      if (v->strides[d] < extent)
        return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s is an output whose elements overlap (strides[%d] is %" PRId64
                      " with shape[%d] = %" PRId64 ")",
                      c->op, name, d, v->strides[d], d, v->shape[d]);
      extent += v->strides[d] * (v->shape[d] - 1);
    }
  }
  v->data = (char *)b->data + t->offset;
  return NULL;
}

rlax_error *cb_view_spec(cb_check *c, const char *name, const rlax_tensor *t, uint32_t dtypes,
                         unsigned flags, const char *spec, cb_view *v) {
  /* split the spec */
  char names[RLAX_MAX_RANK][16];
  int rank = 0;
  const char *p = spec;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (rank >= RLAX_MAX_RANK || len >= sizeof names[0])
      return cb_err(RLAX_ERROR_INTERNAL, "%s: bad shape spec \"%s\"", c->op, spec);
    memcpy(names[rank], p, len);
    names[rank][len] = '\0';
    rank++;
    p = e ? e + 1 : p + len;
  }
  rlax_error *err = view_basic(c, name, t, dtypes, flags, rank, spec, v);
  if (err || !v->present) return err;
  for (int i = 0; i < rank; i++) {
    int64_t want = cb_dim(c, names[i]);
    if (want < 0) {
      if (c->ndims >= CB_MAX_DIMS)
        return cb_err(RLAX_ERROR_INTERNAL, "%s: too many named dimensions", c->op);
      snprintf(c->dims[c->ndims].name, sizeof c->dims[0].name, "%s", names[i]);
      c->dims[c->ndims].value = v->shape[i];
      c->ndims++;
    } else if (v->shape[i] != want) {
      return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %s.shape[%d] is %" PRId64 ", expected %s = %" PRId64, c->op, name, i,
                    v->shape[i], names[i], want);
    }
  }
  return view_extent(c, name, t, flags, v);
}

rlax_error *cb_view_shape(cb_check *c, const char *name, const rlax_tensor *t, uint32_t dtypes,
                          unsigned flags, int rank, const int64_t *shape, const char *like,
                          cb_view *v) {
  rlax_error *err = view_basic(c, name, t, dtypes, flags, rank, like, v);
  if (err || !v->present) return err;
  if (shape)
    for (int i = 0; i < v->rank; i++)
      if (v->shape[i] != shape[i])
        return cb_err(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s.shape[%d] is %" PRId64 ", expected %" PRId64 "%s%s%s", c->op, name,
                      i, v->shape[i], shape[i], like ? " (as " : "", like ? like : "",
                      like ? ")" : "");
  return view_extent(c, name, t, flags, v);
}

cb_view cb_view_drop_last(const cb_view *v) {
  cb_view r = *v;
  if (r.rank > 0) r.rank--;
  r.numel = 1;
  for (int i = 0; i < r.rank; i++) r.numel *= r.shape[i];
  return r;
}

int64_t cb_offset_of(const cb_view *v, int ndims, int64_t linear) {
  int64_t off = 0;
  for (int d = ndims - 1; d >= 0; d--) {
    int64_t n = v->shape[d];
    off += (linear % n) * v->strides[d];
    linear /= n;
  }
  return off;
}

void cb_foreach(int nv, const cb_view *const *views, cb_run_fn fn, void *ctx) {
  const cb_view *v0 = views[0];
  if (v0->numel == 0) return;
  int64_t shape[RLAX_MAX_RANK];
  int64_t st[CB_MAX_OPERANDS][RLAX_MAX_RANK];
  int r = 0;
  for (int d = 0; d < v0->rank; d++) {
    int64_t n = v0->shape[d];
    if (n == 1) continue;
    bool merge = r > 0;
    for (int k = 0; merge && k < nv; k++)
      merge = st[k][r - 1] == views[k]->strides[d] * n;
    if (merge) {
      shape[r - 1] *= n;
      for (int k = 0; k < nv; k++) st[k][r - 1] = views[k]->strides[d];
    } else {
      shape[r] = n;
      for (int k = 0; k < nv; k++) st[k][r] = views[k]->strides[d];
      r++;
    }
  }
  if (r == 0) {
    shape[0] = 1;
    for (int k = 0; k < nv; k++) st[k][0] = 0;
    r = 1;
  }
  char *ptr[CB_MAX_OPERANDS];
  int64_t inner[CB_MAX_OPERANDS];
  for (int k = 0; k < nv; k++) {
    ptr[k] = views[k]->data;
    inner[k] = st[k][r - 1];
  }
  int64_t idx[RLAX_MAX_RANK] = {0};
  int64_t n = shape[r - 1];
  for (;;) {
    fn(ctx, n, ptr, inner);
    int d = r - 2;
    for (; d >= 0; d--) {
      idx[d]++;
      for (int k = 0; k < nv; k++) ptr[k] += st[k][d] * (int64_t)views[k]->esize;
      if (idx[d] < shape[d]) break;
      for (int k = 0; k < nv; k++) ptr[k] -= st[k][d] * shape[d] * (int64_t)views[k]->esize;
      idx[d] = 0;
    }
    if (d < 0) break;
  }
}
