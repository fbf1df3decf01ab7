/*
 * example_backend.c — the smallest complete rlax device backend, written to be copied.
 *
 * "Device memory" here is ordinary malloc'd memory and every op is a plain C loop, so the file
 * shows the whole contract of include/rlax/backend.h without any device code in the way:
 *
 *   1. errors          how an error object is made, read and destroyed
 *   2. the backend     one struct per rlax_backend, with counters and a list of live buffers
 *   3. lifetime        create / destroy / describe
 *   4. memory          buffer_allocate / buffer_free / copies to and from the host
 *   5. validation      checking a tensor descriptor before touching memory
 *   6. ops             fill, binary (add, sub, mul, div, max, min) and matmul, F32 only
 *   7. counters        get_counters / reset_counters
 *   8. the table       the function table, the manifest and the two exported symbols
 *
 * Every other op is left NULL in the table, which means "not supported": the host reports
 * that cleanly (and `rlax plugins verify` lists it as "not supported", not as a failure).
 *
 * Build, from the repository root (nothing but include/rlax/ is needed):
 *   cc -shared -fPIC -Iinclude -o example.so docs/examples/example-backend/example_backend.c
 * then:
 *   rlax plugins info ./example.so
 *   rlax plugins verify ./example.so
 *
 * To start your own backend: copy this file, rename the plugin in section 8, replace the
 * loops in section 6 with calls into your device, and fill in the NULL ops one at a time.
 * docs/writing-a-backend.md walks through it.
 */
#include <rlax/backend.h> /* pulls in rlax/common.h; nothing else of the host is needed */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every function in this file is `static` except the two entry points in section 8, so the
 * shared library exports exactly those two symbols even without -fvisibility=hidden. */

/* ======================================================================================== */
/* 1. Errors                                                                                 */
/* ======================================================================================== */

/*
 * rlax_error is opaque to the host: it is only ever a pointer that the host hands back to
 * error_code / error_message / error_destroy of the table that returned it. So each plugin
 * defines the struct itself. NULL means success.
 *
 * (include/rlax/plugin_support.h offers the same thing as one line, RLAX_DEFINE_ERRORS(prefix);
 * it is spelled out here so that you can see there is no magic in it.)
 */
struct rlax_error {
  rlax_error_code code;
  char message[512];
};

/* Returned when even the error cannot be allocated. Static: error_destroy must not free it. */
static rlax_error out_of_memory_error = {RLAX_ERROR_OUT_OF_MEMORY, "example: out of memory"};

/* Makes an error with a printf-style message. The message should say which op, which operand,
 * what was expected and what was found: the host shows it to the user as it is. */
__attribute__((format(printf, 2, 3))) static rlax_error *make_error(rlax_error_code code,
                                                                     const char *fmt, ...) {
  rlax_error *e = malloc(sizeof *e);
  if (!e) return &out_of_memory_error;
  e->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
  return e;
}

static rlax_error_code example_error_code(const rlax_error *e) { return e ? e->code : RLAX_OK; }

/* The host copies the message; it must stay valid until error_destroy. */
static const char *example_error_message(const rlax_error *e) { return e ? e->message : ""; }

/* The host calls this on every error it receives. Accepts NULL. */
static void example_error_destroy(rlax_error *e) {
  if (e && e != &out_of_memory_error) free(e);
}

/* ======================================================================================== */
/* 2. The backend and its buffers                                                            */
/* ======================================================================================== */

/* rlax_buffer and rlax_backend are opaque to the host, too: we decide what is in them. */
struct rlax_buffer {
  struct rlax_buffer *prev, *next; /* doubly linked, so that destroy can free what is left */
  uint64_t size;                   /* bytes, for bounds checks and memory accounting */
  unsigned char *data;             /* "device memory" */
};

struct rlax_backend {
  struct rlax_buffer *buffers; /* every live buffer */
  /* counters (see rlax_counters in backend.h) */
  uint64_t ops;
  double flops;
  uint64_t bytes_moved;
  uint64_t bytes_to_device;
  uint64_t bytes_from_device;
  uint64_t memory_in_use;
  uint64_t peak_memory;
};

/* ======================================================================================== */
/* 3. Lifetime                                                                               */
/* ======================================================================================== */

/* create must be thread-safe (the host may create backends from several threads); touching
 * nothing but the new struct makes it so. An instance is then used by one thread at a time,
 * so nothing below needs a lock. */
static rlax_error *example_create(const rlax_backend_create_args *args, rlax_backend **out) {
  if (!out) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "create: out is NULL");
  *out = NULL;
  /* Read a field of a host struct only where its struct_size covers it: a host built against
   * an older header may hand a shorter struct. */
  if (args && RLAX_STRUCT_HAS_FIELD(rlax_backend_create_args, args->struct_size, num_options) &&
      args->num_options > 0) {
    /* An unknown --backend-opt key is INVALID_ARGUMENT naming it and the known keys.
     * This backend knows none; yours would loop over option_keys/option_values here. */
    const char *key = args->option_keys && args->option_keys[0] ? args->option_keys[0] : "(null)";
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "example: unknown option '%s' (this backend takes no options)", key);
  }
  rlax_backend *b = calloc(1, sizeof *b);
  if (!b) return &out_of_memory_error;
  *out = b;
  return NULL;
}

/* Frees the backend and every buffer the host did not free. Accepts NULL. */
static void example_destroy(rlax_backend *b) {
  if (!b) return;
  struct rlax_buffer *buf = b->buffers;
  while (buf) {
    struct rlax_buffer *next = buf->next;
    free(buf->data);
    free(buf);
    buf = next;
  }
  free(b);
}

/* Sets out->field only when the caller's struct_size covers it. */
#define SET_IF_COVERED(type, out, field, value) \
  do {                                          \
    if (RLAX_STRUCT_HAS_FIELD(type, (out)->struct_size, field)) (out)->field = (value); \
  } while (0)

/* The host sets out->struct_size to the size it was compiled with; we fill what it covers. */
static rlax_error *example_describe(rlax_backend *b, rlax_device_desc *out) {
  (void)b;
  if (!out) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "describe: out is NULL");
  /* Strings must stay valid while the backend lives: string literals do. */
  SET_IF_COVERED(rlax_device_desc, out, name, "example: naive reference backend in plain C");
  SET_IF_COVERED(rlax_device_desc, out, platform, "cpu");
  SET_IF_COVERED(rlax_device_desc, out, present, true);
  SET_IF_COVERED(rlax_device_desc, out, device_count, 1);
  SET_IF_COVERED(rlax_device_desc, out, memory_bytes, 0);    /* unbounded (malloc) */
  SET_IF_COVERED(rlax_device_desc, out, peak_flops_f32, 0);  /* unknown */
  SET_IF_COVERED(rlax_device_desc, out, peak_flops_bf16, 0); /* unknown */
  SET_IF_COVERED(rlax_device_desc, out, memory_bandwidth_bytes_per_s, 0);
  SET_IF_COVERED(rlax_device_desc, out, dtypes, RLAX_DTYPE_BIT(RLAX_DTYPE_F32));
  SET_IF_COVERED(rlax_device_desc, out, capabilities, 0);
  return NULL;
}

/* ======================================================================================== */
/* 4. Memory                                                                                 */
/* ======================================================================================== */

static rlax_error *example_buffer_allocate(rlax_backend *b, uint64_t size, rlax_buffer **out) {
  if (!b || !out)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: backend or out is NULL");
  *out = NULL;
  if (size == 0)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: size is 0, expected > 0");
  if (size > (uint64_t)SIZE_MAX)
    return make_error(RLAX_ERROR_OUT_OF_MEMORY, "buffer_allocate: %llu bytes do not fit in memory",
                      (unsigned long long)size);
  struct rlax_buffer *buf = malloc(sizeof *buf);
  unsigned char *data = malloc((size_t)size);
  if (!buf || !data) {
    free(buf);
    free(data);
    return make_error(RLAX_ERROR_OUT_OF_MEMORY, "buffer_allocate: cannot allocate %llu bytes",
                      (unsigned long long)size);
  }
  buf->size = size;
  buf->data = data;
  buf->prev = NULL; /* push on the front of the list */
  buf->next = b->buffers;
  if (b->buffers) b->buffers->prev = buf;
  b->buffers = buf;
  b->memory_in_use += size;
  if (b->memory_in_use > b->peak_memory) b->peak_memory = b->memory_in_use;
  *out = buf;
  return NULL;
}

/* Accepts NULL. */
static void example_buffer_free(rlax_backend *b, rlax_buffer *buf) {
  if (!b || !buf) return;
  if (buf->prev) buf->prev->next = buf->next;
  else b->buffers = buf->next;
  if (buf->next) buf->next->prev = buf->prev;
  b->memory_in_use -= buf->size;
  free(buf->data);
  free(buf);
}

/* True when [offset, offset + nbytes) lies inside the buffer; written so it cannot overflow. */
static int range_fits(const rlax_buffer *buf, uint64_t offset, uint64_t nbytes) {
  return offset <= buf->size && nbytes <= buf->size - offset;
}

static rlax_error *example_copy_from_host(rlax_backend *b, rlax_buffer *buf, uint64_t offset,
                                          const void *src, uint64_t nbytes) {
  if (!b || !buf || (!src && nbytes > 0))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "buffer_copy_from_host: backend, buffer or src is NULL");
  if (!range_fits(buf, offset, nbytes))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "buffer_copy_from_host: offset %llu + nbytes %llu is past the end of the "
                      "buffer (%llu bytes)",
                      (unsigned long long)offset, (unsigned long long)nbytes,
                      (unsigned long long)buf->size);
  if (nbytes > 0) memcpy(buf->data + offset, src, (size_t)nbytes);
  b->bytes_to_device += nbytes;
  return NULL;
}

/* A real device would wait here for every earlier op to finish; ours are already done. */
static rlax_error *example_copy_to_host(rlax_backend *b, rlax_buffer *buf, uint64_t offset,
                                        void *dst, uint64_t nbytes) {
  if (!b || !buf || (!dst && nbytes > 0))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "buffer_copy_to_host: backend, buffer or dst is NULL");
  if (!range_fits(buf, offset, nbytes))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "buffer_copy_to_host: offset %llu + nbytes %llu is past the end of the "
                      "buffer (%llu bytes)",
                      (unsigned long long)offset, (unsigned long long)nbytes,
                      (unsigned long long)buf->size);
  if (nbytes > 0) memcpy(dst, buf->data + offset, (size_t)nbytes);
  b->bytes_from_device += nbytes;
  return NULL;
}

/* ======================================================================================== */
/* 5. Validating tensor descriptors                                                          */
/* ======================================================================================== */

/*
 * An rlax_tensor is a view: buffer + byte offset + dtype + shape + strides (in elements).
 * Element [i0, i1, ...] lives at byte  offset + 4 * (i0 * strides[0] + i1 * strides[1] + ...)
 * for F32. Before an op touches memory it checks every operand: a descriptor is borrowed
 * from the host for the call and may be wrong (that is what `rlax plugins verify` tests).
 */

/* Checks what every operand needs: readable struct, F32, sane rank/shape/strides, and every
 * element it addresses inside its buffer. `op` and `name` only make the message. */
static rlax_error *check_tensor(const char *op, const char *name, const rlax_tensor *t) {
  if (!t) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s is NULL", op, name);
  if (!RLAX_STRUCT_HAS_FIELD(rlax_tensor, t->struct_size, strides))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.struct_size is %zu, expected %zu", op,
                      name, t->struct_size, sizeof(rlax_tensor));
  if (!t->buffer) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.buffer is NULL", op, name);
  /* F32 is the one dtype every backend must support; a valid request in another dtype is
   * UNIMPLEMENTED (not INVALID_ARGUMENT): the host may retry in F32. */
  if (t->dtype != RLAX_DTYPE_F32)
    return make_error(RLAX_ERROR_UNIMPLEMENTED,
                      "%s: %s.dtype is %d, this backend supports only F32 (%d)",
                      op, name, (int)t->dtype, (int)RLAX_DTYPE_F32);
  if (t->rank < 0 || t->rank > RLAX_MAX_RANK)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.rank is %d, expected 0 ... %d", op,
                      name, (int)t->rank, RLAX_MAX_RANK);
  if (t->offset % sizeof(float) != 0)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s.offset is %llu, expected a multiple of %zu",
                      op, name, (unsigned long long)t->offset, sizeof(float));
  int empty = 0;
  for (int d = 0; d < t->rank; d++) {
    if (t->shape[d] < 0)
      return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.shape[%d] is %lld, expected >= 0", op,
                        name, d, (long long)t->shape[d]);
    if (t->strides[d] < 0)
      return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.strides[%d] is %lld, expected >= 0",
                        op, name, d, (long long)t->strides[d]);
    if (t->shape[d] == 0) empty = 1;
  }
  if (empty) return NULL; /* addresses no element at all */

  /* The highest element addressed is at index  sum_d (shape[d] - 1) * strides[d]; it must be
   * below `room`, the number of whole elements between offset and the end of the buffer.
   * Each step is checked against room first, so nothing can overflow. */
  uint64_t size = t->buffer->size;
  uint64_t room = t->offset < size ? (size - t->offset) / sizeof(float) : 0;
  uint64_t last = 0;
  int fits = room > 0;
  for (int d = 0; fits && d < t->rank; d++) {
    uint64_t span = (uint64_t)(t->shape[d] - 1), stride = (uint64_t)t->strides[d];
    if (span > 0 && stride > (room - 1 - last) / span) fits = 0;
    else last += span * stride;
  }
  if (!fits)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: %s addresses elements past the end of its buffer (offset %llu bytes, "
                      "buffer %llu bytes, room for %llu elements)",
                      op, name, (unsigned long long)t->offset, (unsigned long long)size,
                      (unsigned long long)room);
  return NULL;
}

/* An output must not overlap itself: a stride of 0 along an axis longer than 1 would write two
 * elements to the same place. (A full overlap test is harder; this catches the usual mistake.) */
static rlax_error *check_output(const char *op, const char *name, const rlax_tensor *t) {
  for (int d = 0; d < t->rank; d++)
    if (t->strides[d] == 0 && t->shape[d] > 1)
      return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: %s.strides[%d] is 0 with shape[%d] = %lld: "
                        "an output must not overlap itself",
                        op, name, d, d, (long long)t->shape[d]);
  return NULL;
}

static rlax_error *check_rank(const char *op, const char *name, const rlax_tensor *t,
                              int32_t rank) {
  if (t->rank == rank) return NULL;
  return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.rank is %d, expected %d", op, name,
                    (int)t->rank, (int)rank);
}

/* The message format the header asks for: "matmul: b.shape[0] is 5, expected K = 4". */
static rlax_error *check_dim(const char *op, const char *name, const rlax_tensor *t, int axis,
                             int64_t expected, const char *what) {
  if (t->shape[axis] == expected) return NULL;
  return make_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: %s.shape[%d] is %lld, expected %s = %lld", op,
                    name, axis, (long long)t->shape[axis], what, (long long)expected);
}

/* Number of elements (1 for a scalar, 0 when any axis is 0). */
static int64_t element_count(const rlax_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->rank; d++) n *= t->shape[d];
  return n;
}

/* Where element number `linear` (row-major over `shape`) of t lives, in elements from t's
 * first element. Dividing per element is slow but obviously right, and any strides work. */
static int64_t element_offset(const rlax_tensor *t, const int64_t *shape, int64_t linear) {
  int64_t off = 0;
  for (int d = t->rank - 1; d >= 0; d--) {
    off += (linear % shape[d]) * t->strides[d];
    linear /= shape[d];
  }
  return off;
}

/* The first element of a (validated) F32 tensor. */
static float *data_f32(const rlax_tensor *t) { return (float *)(t->buffer->data + t->offset); }

/* Byte range [first, end) an operand can touch, for overlap checks. Assumes non-empty. */
static void byte_range(const rlax_tensor *t, uint64_t *first, uint64_t *end) {
  uint64_t last = 0;
  for (int d = 0; d < t->rank; d++) last += (uint64_t)(t->shape[d] - 1) * (uint64_t)t->strides[d];
  *first = t->offset;
  *end = t->offset + (last + 1) * sizeof(float);
}

static int may_overlap(const rlax_tensor *x, const rlax_tensor *y) {
  if (x->buffer != y->buffer || element_count(x) == 0 || element_count(y) == 0) return 0;
  uint64_t x0, x1, y0, y1;
  byte_range(x, &x0, &x1);
  byte_range(y, &y0, &y1);
  return x0 < y1 && y0 < x1;
}

/* ======================================================================================== */
/* 6. Ops                                                                                    */
/* ======================================================================================== */

/* Every op: check the args struct, check each operand, then compute, then count.
 * On error nothing is written and no counter moves. */

/* out[...] = value */
static rlax_error *example_fill(rlax_backend *b, const rlax_fill_args *args) {
  static const char op[] = "fill";
  if (!b || !args) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "fill: backend or args is NULL");
  if (!RLAX_STRUCT_HAS_FIELD(rlax_fill_args, args->struct_size, value))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "fill: args.struct_size is %zu, expected %zu",
                      args->struct_size, sizeof(rlax_fill_args));
  rlax_error *e = check_tensor(op, "out", args->out);
  if (!e) e = check_output(op, "out", args->out);
  if (e) return e;

  const rlax_tensor *out = args->out;
  float *o = data_f32(out);
  int64_t n = element_count(out);
  for (int64_t i = 0; i < n; i++) o[element_offset(out, out->shape, i)] = args->value;

  b->ops += 1;
  b->bytes_moved += (uint64_t)n * sizeof(float);
  return NULL;
}

/* One element of a binary op. MAX and MIN propagate NaN from either side. */
static float binary_apply(rlax_binary_op op, float x, float y) {
  switch (op) {
  case RLAX_BINARY_ADD: return x + y;
  case RLAX_BINARY_SUB: return x - y;
  case RLAX_BINARY_MUL: return x * y;
  case RLAX_BINARY_DIV: return x / y;
  case RLAX_BINARY_MAX: return (x > y || x != x) ? x : y;
  case RLAX_BINARY_MIN: return (x < y || x != x) ? x : y;
  }
  return 0.0f; /* not reached: the op was checked before the loop */
}

/* out = a (op) b, elementwise; a and b have out's shape but may broadcast with stride 0.
 * out may be the very same view as a or b (out += b): each element is read before it is
 * written, so that just works. */
static rlax_error *example_binary(rlax_backend *b, const rlax_binary_args *args) {
  static const char op[] = "binary";
  if (!b || !args)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "binary: backend or args is NULL");
  if (!RLAX_STRUCT_HAS_FIELD(rlax_binary_args, args->struct_size, out))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "binary: args.struct_size is %zu, expected %zu",
                      args->struct_size, sizeof(rlax_binary_args));
  if ((unsigned)args->op > (unsigned)RLAX_BINARY_MIN)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "binary: op is %d, expected 0 (ADD) ... 5 (MIN)",
                      (int)args->op);
  rlax_error *e = check_tensor(op, "out", args->out);
  if (!e) e = check_output(op, "out", args->out);
  if (!e) e = check_tensor(op, "a", args->a);
  if (!e) e = check_tensor(op, "b", args->b);
  if (!e) e = check_rank(op, "a", args->a, args->out->rank);
  if (!e) e = check_rank(op, "b", args->b, args->out->rank);
  for (int d = 0; !e && d < args->out->rank; d++) {
    char what[32]; /* names the size we compare with, e.g. "out.shape[1]" */
    snprintf(what, sizeof what, "out.shape[%d]", d);
    e = check_dim(op, "a", args->a, d, args->out->shape[d], what);
    if (!e) e = check_dim(op, "b", args->b, d, args->out->shape[d], what);
  }
  if (e) return e;

  const rlax_tensor *out = args->out, *ta = args->a, *tb = args->b;
  const float *x = data_f32(ta), *y = data_f32(tb);
  float *o = data_f32(out);
  int64_t n = element_count(out);
  for (int64_t i = 0; i < n; i++) {
    float xi = x[element_offset(ta, out->shape, i)];
    float yi = y[element_offset(tb, out->shape, i)];
    o[element_offset(out, out->shape, i)] = binary_apply(args->op, xi, yi);
  }

  b->ops += 1;
  b->flops += (double)n;
  b->bytes_moved += 3 * (uint64_t)n * sizeof(float);
  return NULL;
}

/*
 * c = alpha * op(a) @ op(b) + beta * c   (see rlax_matmul_args in backend.h)
 *   a: [M,K] or [K,M] (transpose_a), optionally with a leading batch axis
 *   b: [K,N] or [N,K] (transpose_b), optionally with a leading batch axis
 *   c: [M,N] or [batch,M,N]; a rank-2 a or b is reused for every batch of a rank-3 c.
 * A naive triple loop accumulating in double: slow, but a good reference to test against.
 */
static rlax_error *example_matmul(rlax_backend *b, const rlax_matmul_args *args) {
  static const char op[] = "matmul";
  if (!b || !args)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "matmul: backend or args is NULL");
  if (!RLAX_STRUCT_HAS_FIELD(rlax_matmul_args, args->struct_size, beta))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "matmul: args.struct_size is %zu, expected %zu",
                      args->struct_size, sizeof(rlax_matmul_args));
  const rlax_tensor *ta = args->a, *tb = args->b, *tc = args->c;
  rlax_error *e = check_tensor(op, "a", ta);
  if (!e) e = check_tensor(op, "b", tb);
  if (!e) e = check_tensor(op, "c", tc);
  if (!e) e = check_output(op, "c", tc);
  if (e) return e;

  /* Ranks: c is [M,N] or [batch,M,N]; a and b are rank 2, or rank 3 only with a rank-3 c. */
  if (tc->rank != 2 && tc->rank != 3)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "matmul: c.rank is %d, expected 2 ([M,N]) or 3 ([batch,M,N])",
                      (int)tc->rank);
  if (ta->rank != 2 && !(ta->rank == 3 && tc->rank == 3))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "matmul: a.rank is %d, expected 2, or 3 when c is rank 3 (c.rank is %d)",
                      (int)ta->rank, (int)tc->rank);
  if (tb->rank != 2 && !(tb->rank == 3 && tc->rank == 3))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "matmul: b.rank is %d, expected 2, or 3 when c is rank 3 (c.rank is %d)",
                      (int)tb->rank, (int)tc->rank);

  /* M and N come from c, K from a; every other size is checked against them. */
  const int cr = tc->rank, ar = ta->rank, br = tb->rank;
  const int64_t batch = cr == 3 ? tc->shape[0] : 1;
  const int64_t M = tc->shape[cr - 2], N = tc->shape[cr - 1];
  /* Which axis of a holds M and which K (swapped by transpose_a); the same for b. */
  const int a_m = args->transpose_a ? ar - 1 : ar - 2, a_k = args->transpose_a ? ar - 2 : ar - 1;
  const int b_k = args->transpose_b ? br - 1 : br - 2, b_n = args->transpose_b ? br - 2 : br - 1;
  const int64_t K = ta->shape[a_k];
  if (ar == 3) e = check_dim(op, "a", ta, 0, batch, "batch");
  if (!e && br == 3) e = check_dim(op, "b", tb, 0, batch, "batch");
  if (!e) e = check_dim(op, "a", ta, a_m, M, "M");
  if (!e) e = check_dim(op, "b", tb, b_k, K, "K");
  if (!e) e = check_dim(op, "b", tb, b_n, N, "N");
  if (e) return e;
  if (may_overlap(tc, ta) || may_overlap(tc, tb))
    return make_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "matmul: c overlaps %s in the same buffer; c must not overlap a or b",
                      may_overlap(tc, ta) ? "a" : "b");

  /* Strides along each logical axis; a batch stride of 0 reuses a rank-2 operand. */
  const int64_t sa_batch = ar == 3 ? ta->strides[0] : 0;
  const int64_t sb_batch = br == 3 ? tb->strides[0] : 0;
  const int64_t sc_batch = cr == 3 ? tc->strides[0] : 0;
  const int64_t sa_m = ta->strides[a_m], sa_k = ta->strides[a_k];
  const int64_t sb_k = tb->strides[b_k], sb_n = tb->strides[b_n];
  const int64_t sc_m = tc->strides[cr - 2], sc_n = tc->strides[cr - 1];
  const float *A = data_f32(ta), *B = data_f32(tb);
  float *C = data_f32(tc);
  const double alpha = args->alpha, beta = args->beta;

  for (int64_t p = 0; p < batch; p++)
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; k++) {
          float a_ik = A[p * sa_batch + i * sa_m + k * sa_k];
          float b_kj = B[p * sb_batch + k * sb_k + j * sb_n];
          acc += (double)a_ik * (double)b_kj;
        }
        float *c = &C[p * sc_batch + i * sc_m + j * sc_n];
        /* beta = 0 must ignore c's old contents, even NaN: do not read c at all then. */
        *c = (float)(beta == 0.0 ? alpha * acc : alpha * acc + beta * (double)*c);
      }

  b->ops += 1;
  b->flops += 2.0 * (double)batch * (double)M * (double)N * (double)K;
  b->bytes_moved += sizeof(float) * (uint64_t)(batch * M * K + batch * K * N +
                                               batch * M * N * (args->beta == 0.0f ? 1 : 2));
  return NULL;
}

/* Every op above finished before it returned, so there is nothing to wait for. A device with
 * queues would wait for them here. */
static rlax_error *example_synchronize(rlax_backend *b) {
  if (!b) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "synchronize: backend is NULL");
  return NULL;
}

/* ======================================================================================== */
/* 7. Counters                                                                               */
/* ======================================================================================== */

static rlax_error *example_get_counters(rlax_backend *b, rlax_counters *out) {
  if (!b || !out)
    return make_error(RLAX_ERROR_INVALID_ARGUMENT, "get_counters: backend or out is NULL");
  SET_IF_COVERED(rlax_counters, out, ops, b->ops);
  SET_IF_COVERED(rlax_counters, out, flops, b->flops);
  SET_IF_COVERED(rlax_counters, out, bytes_moved, b->bytes_moved);
  SET_IF_COVERED(rlax_counters, out, bytes_to_device, b->bytes_to_device);
  SET_IF_COVERED(rlax_counters, out, bytes_from_device, b->bytes_from_device);
  SET_IF_COVERED(rlax_counters, out, memory_in_use, b->memory_in_use);
  SET_IF_COVERED(rlax_counters, out, peak_memory, b->peak_memory);
  SET_IF_COVERED(rlax_counters, out, simulated_seconds, -1.0); /* no simulated clock */
  return NULL;
}

/* Zeroes every counter except memory_in_use; peak_memory restarts from memory_in_use. */
static rlax_error *example_reset_counters(rlax_backend *b) {
  if (!b) return make_error(RLAX_ERROR_INVALID_ARGUMENT, "reset_counters: backend is NULL");
  b->ops = 0;
  b->flops = 0.0;
  b->bytes_moved = 0;
  b->bytes_to_device = 0;
  b->bytes_from_device = 0;
  b->peak_memory = b->memory_in_use;
  return NULL;
}

/* ======================================================================================== */
/* 8. The function table, the manifest and the entry points                                  */
/* ======================================================================================== */

/* Static and const: the host keeps a pointer to it while the library is loaded. Designated
 * initializers leave every op we do not name NULL, which means "not supported". */
static const rlax_backend_api example_api = {
    .struct_size = sizeof(rlax_backend_api), /* what we were compiled with */
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = example_error_code,
    .error_message = example_error_message,
    .error_destroy = example_error_destroy,

    .create = example_create,
    .destroy = example_destroy,
    .describe = example_describe,

    .buffer_allocate = example_buffer_allocate,
    .buffer_free = example_buffer_free,
    .buffer_copy_from_host = example_copy_from_host,
    .buffer_copy_to_host = example_copy_to_host,

    .matmul = example_matmul,
    .binary = example_binary,
    .fill = example_fill,
    /* .unary, .reduce, .softmax, .rmsnorm_*, .rope_*, .swiglu_*, .attention_*,
     * .embedding_*, .logsoftmax_gather_*, .adamw: NULL, not supported (yet). */

    .synchronize = example_synchronize,
    .get_counters = example_get_counters,
    .reset_counters = example_reset_counters,
};

static const rlax_manifest example_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "example", /* [a-z0-9-]+, unique among the plugins a host loads */
    .version = "0.1.0",
    .description = "example backend from docs/examples: F32 fill, binary and matmul in plain C",
    .kinds = RLAX_KIND_BACKEND,
};

/* Exported symbol 1: the manifest. Called first, before anything else; must not fail or
 * allocate. */
RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &example_manifest; }

/* Exported symbol 2: the backend table. Refuse a host of another ABI major: say why through
 * the host's log (when it has one: check struct_size first) and return NULL. */
RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (services && services->abi_major != RLAX_ABI_MAJOR) {
    if (RLAX_STRUCT_HAS_FIELD(rlax_host_services, services->struct_size, log) && services->log) {
      char line[160];
      snprintf(line, sizeof line,
               "example: host ABI major %u, plugin built for %u: refusing to load",
               (unsigned)services->abi_major, (unsigned)RLAX_ABI_MAJOR);
      services->log(services->host_context, RLAX_LOG_ERROR, line);
    }
    return NULL;
  }
  return &example_api;
}
