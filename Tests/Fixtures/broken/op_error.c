/*
 * Broken on purpose, in one op only: a small working backend (create, destroy, describe,
 * buffers, copies, fill, synchronize, counters) whose matmul always fails with
 * RLAX_ERROR_INTERNAL "op-error: matmul failed on purpose". Every other op is NULL.
 * The host must load it, and turn the matmul error into a clean error carrying the code
 * INTERNAL and that message (PluginError.failed), destroying the error object through the
 * table: no crash, no leak.
 *
 * Built with -DOP_ERROR_CRASH_IN_FILL, its fill dereferences NULL instead: `rlax plugins
 * verify` runs each plugin in a child process, so it must report that plugin as FAIL, naming
 * the signal and the check it died in, and go on.
 */
#include <rlax/backend.h>
#include <rlax/plugin_support.h>

RLAX_DEFINE_ERRORS(op_error)

struct rlax_buffer {
  struct rlax_buffer *next;
  uint64_t size;
  unsigned char *data;
};

struct rlax_backend {
  struct rlax_buffer *buffers;
  rlax_counters counters;
};

static rlax_error *be_create(const rlax_backend_create_args *args, rlax_backend **out) {
  if (!out) return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "op-error: create: out is NULL");
  *out = NULL;
  if (args && RLAX_STRUCT_HAS_FIELD(rlax_backend_create_args, args->struct_size, num_options) &&
      args->num_options > 0)
    return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "op-error: takes no options");
  rlax_backend *b = calloc(1, sizeof *b);
  if (!b) return op_error_error(RLAX_ERROR_OUT_OF_MEMORY, "op-error: out of memory");
  b->counters.struct_size = sizeof b->counters;
  b->counters.simulated_seconds = -1.0;
  *out = b;
  return NULL;
}

static void be_destroy(rlax_backend *b) {
  if (!b) return;
  while (b->buffers) {
    struct rlax_buffer *next = b->buffers->next;
    free(b->buffers->data);
    free(b->buffers);
    b->buffers = next;
  }
  free(b);
}

static rlax_error *be_describe(rlax_backend *b, rlax_device_desc *out) {
  (void)b;
  rlax_device_desc d = {.struct_size = sizeof d, .name = "op-error fixture", .platform = "cpu",
                        .present = true, .device_count = 1,
                        .dtypes = RLAX_DTYPE_BIT(RLAX_DTYPE_F32)};
  /* copy what the caller's struct_size covers, keeping its struct_size */
  size_t n = out->struct_size < sizeof d ? out->struct_size : sizeof d;
  if (n > sizeof(size_t))
    memcpy((char *)out + sizeof(size_t), (char *)&d + sizeof(size_t), n - sizeof(size_t));
  return NULL;
}

static rlax_error *be_allocate(rlax_backend *b, uint64_t size, rlax_buffer **out) {
  *out = NULL;
  if (size == 0) return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: size is 0");
  struct rlax_buffer *buf = calloc(1, sizeof *buf);
  if (buf) buf->data = malloc((size_t)size);
  if (!buf || !buf->data) {
    free(buf);
    return op_error_error(RLAX_ERROR_OUT_OF_MEMORY, "buffer_allocate: out of memory");
  }
  buf->size = size;
  buf->next = b->buffers;
  b->buffers = buf;
  b->counters.memory_in_use += size;
  if (b->counters.memory_in_use > b->counters.peak_memory)
    b->counters.peak_memory = b->counters.memory_in_use;
  *out = buf;
  return NULL;
}

static void be_free(rlax_backend *b, rlax_buffer *buf) {
  if (!b || !buf) return;
  for (struct rlax_buffer **p = &b->buffers; *p; p = &(*p)->next)
    if (*p == buf) {
      *p = buf->next;
      b->counters.memory_in_use -= buf->size;
      free(buf->data);
      free(buf);
      return;
    }
}

static rlax_error *check_range(const char *fn, rlax_buffer *buf, uint64_t offset, uint64_t n) {
  if (buf && offset <= buf->size && n <= buf->size - offset) return NULL;
  return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: range outside the buffer", fn);
}

static rlax_error *be_copy_from_host(rlax_backend *b, rlax_buffer *buf, uint64_t offset,
                                     const void *src, uint64_t n) {
  rlax_error *e = check_range("buffer_copy_from_host", buf, offset, n);
  if (e) return e;
  if (n) memcpy(buf->data + offset, src, (size_t)n);
  b->counters.bytes_to_device += n;
  return NULL;
}

static rlax_error *be_copy_to_host(rlax_backend *b, rlax_buffer *buf, uint64_t offset, void *dst,
                                   uint64_t n) {
  rlax_error *e = check_range("buffer_copy_to_host", buf, offset, n);
  if (e) return e;
  if (n) memcpy(dst, buf->data + offset, (size_t)n);
  b->counters.bytes_from_device += n;
  return NULL;
}

/* F32 fill with any strides; checks that every element lies inside the buffer. */
static rlax_error *be_fill(rlax_backend *b, const rlax_fill_args *args) {
#ifdef OP_ERROR_CRASH_IN_FILL
  volatile float *nowhere = NULL;
  *nowhere = 1.0f;
#endif
  const rlax_tensor *t = args->out;
  if (!t || !t->buffer || t->dtype != RLAX_DTYPE_F32 || t->rank < 0 || t->rank > RLAX_MAX_RANK ||
      t->offset % 4 != 0)
    return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "fill: out must be an aligned F32 tensor");
  int64_t count = 1;
  for (int d = 0; d < t->rank; d++) {
    if (t->shape[d] < 0 || t->strides[d] < 0)
      return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "fill: negative shape or stride");
    count *= t->shape[d];
  }
  if (count == 0) return NULL;
  /* room: elements between offset and the end; the last element addressed must be below it */
  uint64_t room = t->offset < t->buffer->size ? (t->buffer->size - t->offset) / 4 : 0, last = 0;
  for (int d = 0; d < t->rank && room > 0; d++) {
    uint64_t span = (uint64_t)t->shape[d] - 1, stride = (uint64_t)t->strides[d];
    if (span > 0 && stride > (room - 1 - last) / span) room = 0;
    else last += span * stride;
  }
  if (room == 0)
    return op_error_error(RLAX_ERROR_INVALID_ARGUMENT, "fill: out lies outside its buffer");
  float *base = (float *)(t->buffer->data + t->offset);
  for (int64_t i = 0; i < count; i++) {
    int64_t rest = i, off = 0;
    for (int d = t->rank - 1; d >= 0; d--) {
      off += (rest % t->shape[d]) * t->strides[d];
      rest /= t->shape[d];
    }
    base[off] = args->value;
  }
  b->counters.ops += 1;
  b->counters.bytes_moved += 4 * (uint64_t)count;
  return NULL;
}

/* The defect under test. */
static rlax_error *be_matmul(rlax_backend *b, const rlax_matmul_args *args) {
  (void)b;
  (void)args;
  return op_error_error(RLAX_ERROR_INTERNAL, "op-error: matmul failed on purpose");
}

static rlax_error *be_synchronize(rlax_backend *b) {
  (void)b;
  return NULL;
}

static rlax_error *be_get_counters(rlax_backend *b, rlax_counters *out) {
  size_t n = out->struct_size < sizeof b->counters ? out->struct_size : sizeof b->counters;
  if (n > sizeof(size_t))
    memcpy((char *)out + sizeof(size_t), (char *)&b->counters + sizeof(size_t), n - sizeof(size_t));
  return NULL;
}

static rlax_error *be_reset_counters(rlax_backend *b) {
  uint64_t in_use = b->counters.memory_in_use;
  memset(&b->counters, 0, sizeof b->counters);
  b->counters.struct_size = sizeof b->counters;
  b->counters.memory_in_use = in_use;
  b->counters.peak_memory = in_use;
  b->counters.simulated_seconds = -1.0;
  return NULL;
}

static const rlax_backend_api table = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = op_error_error_code,
    .error_message = op_error_error_message,
    .error_destroy = op_error_error_destroy,
    .create = be_create,
    .destroy = be_destroy,
    .describe = be_describe,
    .buffer_allocate = be_allocate,
    .buffer_free = be_free,
    .buffer_copy_from_host = be_copy_from_host,
    .buffer_copy_to_host = be_copy_to_host,
    .matmul = be_matmul,
    .fill = be_fill,
    .synchronize = be_synchronize,
    .get_counters = be_get_counters,
    .reset_counters = be_reset_counters,
};

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "op-error",
    .version = "0.0.1",
    .description = "test fixture: a working backend whose matmul always fails",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "op-error")) return NULL;
  return &table;
}
