/* cpu-blas: the fp32 CPU backend on OpenBLAS — entry points, lifetime, buffers, counters. */
#include "cpu_blas.h"
#include "openblas.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <unistd.h>

#define CB_NAME "cpu-blas"

RLAX_DEFINE_ERRORS(cb)

rlax_error *cb_err(rlax_error_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rlax_error *e = rlax_support_error_v(code, fmt, ap);
  va_end(ap);
  return e;
}

float *cb_scratch(size_t nfloats) {
  void *p = NULL;
  if (nfloats == 0) nfloats = 1;
  if (nfloats > SIZE_MAX / sizeof(float)) return NULL;
  if (posix_memalign(&p, 64, nfloats * sizeof(float)) != 0) return NULL;
  return (float *)p;
}

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */

static const char *const known_keys = "threads, memory_limit_bytes";

/* Parses a decimal integer in [lo, hi] that fills the whole string. */
static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || !*s) return false;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return false;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end) return false;
  if (v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Cooperlake MAX_THREADS=64, 4 threads (kernels chosen by
 * ...)". OpenBLAS's thread count is process-wide, so it is read again at every describe. */
static void format_name(rlax_backend *be) {
  be->threads = cb_openblas.get_num_threads();
  const char *config = cb_openblas.get_config();
  if (!config) config = "OpenBLAS";
  snprintf(be->name, sizeof be->name, "%s%s, %d thread%s (%s)",
           strncmp(config, "OpenBLAS", 8) == 0 ? "" : "OpenBLAS ", config, be->threads,
           be->threads == 1 ? "" : "s", cb_openblas_chosen_by());
}

static rlax_error *cb_create(const rlax_backend_create_args *args, rlax_backend **out) {
  if (!out) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "create: out is NULL");
  *out = NULL;
  uint64_t threads = 0, limit = 0;
  if (args) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_backend_create_args, args->struct_size, num_options))
      return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "create: args.struct_size is %zu, expected at least %zu", args->struct_size,
                      sizeof(rlax_backend_create_args));
    if (args->num_options && (!args->option_keys || !args->option_values))
      return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "create: %zu options but option_keys or option_values is NULL",
                      args->num_options);
    for (size_t i = 0; i < args->num_options; i++) {
      const char *k = args->option_keys[i], *v = args->option_values[i];
      if (!k)
        return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "create: option %zu has a NULL key", i);
      if (strcmp(k, "threads") == 0) {
        if (!parse_u64(v, 1, 4096, &threads))
          return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                          "cpu-blas: option threads=%s: expected an integer in 1 ... 4096",
                          v ? v : "(null)");
      } else if (strcmp(k, "memory_limit_bytes") == 0) {
        if (!parse_u64(v, 1, UINT64_MAX, &limit))
          return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                          "cpu-blas: option memory_limit_bytes=%s: expected a positive integer "
                          "number of bytes",
                          v ? v : "(null)");
      } else {
        return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "cpu-blas: unknown option \"%s\"; known options: %s", k, known_keys);
      }
    }
  }
  const char *blas_error = cb_openblas_load();
  if (blas_error) return cb_err(RLAX_ERROR_UNAVAILABLE, "cpu-blas: %s", blas_error);
  rlax_backend *be = (rlax_backend *)calloc(1, sizeof *be);
  if (!be) return cb_error(RLAX_ERROR_OUT_OF_MEMORY, "create: out of memory");
  if (threads) cb_openblas.set_num_threads((int)threads); /* process-wide in OpenBLAS */
  be->memory_limit = limit;
  format_name(be);
  *out = be;
  return NULL;
}

static void cb_destroy(rlax_backend *be) {
  if (!be) return;
  struct rlax_buffer *b = be->buffers;
  while (b) {
    struct rlax_buffer *next = b->next;
    b->magic = 0;
    free(b->data);
    free(b);
    b = next;
  }
  free(be);
}

static uint64_t physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return (uint64_t)pages * (uint64_t)page;
}

#define SET_FIELD(type, out, field, value)                            \
  do {                                                                \
    if (RLAX_STRUCT_HAS_FIELD(type, (out)->struct_size, field)) (out)->field = (value); \
  } while (0)

static rlax_error *cb_describe(rlax_backend *be, rlax_device_desc *out) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "describe: backend is NULL");
  if (!out) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "describe: out is NULL");
  format_name(be);
  SET_FIELD(rlax_device_desc, out, name, be->name);
  SET_FIELD(rlax_device_desc, out, platform, "cpu");
  SET_FIELD(rlax_device_desc, out, present, true);
  SET_FIELD(rlax_device_desc, out, device_count, 1);
  SET_FIELD(rlax_device_desc, out, memory_bytes,
            be->memory_limit ? be->memory_limit : physical_memory());
  SET_FIELD(rlax_device_desc, out, peak_flops_f32, 0.0);
  SET_FIELD(rlax_device_desc, out, peak_flops_bf16, 0.0);
  SET_FIELD(rlax_device_desc, out, memory_bandwidth_bytes_per_s, 0.0);
  SET_FIELD(rlax_device_desc, out, dtypes,
            RLAX_DTYPE_BIT(RLAX_DTYPE_F32) | RLAX_DTYPE_BIT(RLAX_DTYPE_BF16) |
                RLAX_DTYPE_BIT(RLAX_DTYPE_I32));
  SET_FIELD(rlax_device_desc, out, capabilities,
            (uint64_t)(be->memory_limit ? RLAX_CAP_MEMORY_LIMIT : 0));
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Buffers                                                                                   */

static rlax_error *cb_buffer_allocate(rlax_backend *be, uint64_t size, rlax_buffer **out) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: backend is NULL");
  if (!out) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: out is NULL");
  *out = NULL;
  if (size == 0)
    return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: size_bytes is 0, expected > 0");
  if (be->memory_limit && size > be->memory_limit - be->memory_in_use)
    return cb_error(RLAX_ERROR_OUT_OF_MEMORY,
                    "buffer_allocate: %" PRIu64 " bytes requested, %" PRIu64
                    " bytes free (memory_limit_bytes=%" PRIu64 ", %" PRIu64 " in use)",
                    size, be->memory_limit - be->memory_in_use, be->memory_limit,
                    be->memory_in_use);
  if (size > (uint64_t)SIZE_MAX - 64)
    return cb_error(RLAX_ERROR_OUT_OF_MEMORY, "buffer_allocate: %" PRIu64 " bytes requested",
                    size);
  struct rlax_buffer *b = (struct rlax_buffer *)calloc(1, sizeof *b);
  void *data = NULL;
  if (!b || posix_memalign(&data, 64, (size_t)size) != 0) {
    free(b);
    return cb_error(RLAX_ERROR_OUT_OF_MEMORY,
                    "buffer_allocate: %" PRIu64 " bytes requested, the host has %" PRIu64
                    " bytes of RAM and this backend holds %" PRIu64,
                    size, physical_memory(), be->memory_in_use);
  }
  b->magic = CB_BUFFER_MAGIC;
  b->owner = be;
  b->size = size;
  b->data = data;
  b->next = be->buffers;
  if (be->buffers) be->buffers->prev = b;
  be->buffers = b;
  be->memory_in_use += size;
  if (be->memory_in_use > be->peak_memory) be->peak_memory = be->memory_in_use;
  *out = b;
  return NULL;
}

static bool buffer_ok(const rlax_backend *be, const struct rlax_buffer *b) {
  return b && b->magic == CB_BUFFER_MAGIC && b->owner == be;
}

static void cb_buffer_free(rlax_backend *be, rlax_buffer *b) {
  if (!be || !buffer_ok(be, b)) return;
  if (b->prev) b->prev->next = b->next;
  else be->buffers = b->next;
  if (b->next) b->next->prev = b->prev;
  be->memory_in_use -= b->size;
  b->magic = 0;
  free(b->data);
  free(b);
}

static rlax_error *check_range(const char *op, rlax_backend *be, const struct rlax_buffer *b,
                               uint64_t offset, const void *host, uint64_t nbytes) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: backend is NULL", op);
  if (!b) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: buffer is NULL", op);
  if (!buffer_ok(be, b))
    return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: buffer is not a live buffer of this backend",
                    op);
  if (nbytes && !host)
    return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: host pointer is NULL", op);
  if (offset > b->size || nbytes > b->size - offset)
    return cb_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: offset %" PRIu64 " + nbytes %" PRIu64 " is past the end of the %" PRIu64
                    "-byte buffer",
                    op, offset, nbytes, b->size);
  return NULL;
}

static rlax_error *cb_copy_from_host(rlax_backend *be, rlax_buffer *b, uint64_t offset,
                                     const void *src, uint64_t nbytes) {
  rlax_error *e = check_range("buffer_copy_from_host", be, b, offset, src, nbytes);
  if (e) return e;
  if (nbytes) memcpy((char *)b->data + offset, src, (size_t)nbytes);
  be->bytes_to_device += nbytes;
  return NULL;
}

static rlax_error *cb_copy_to_host(rlax_backend *be, rlax_buffer *b, uint64_t offset, void *dst,
                                   uint64_t nbytes) {
  rlax_error *e = check_range("buffer_copy_to_host", be, b, offset, dst, nbytes);
  if (e) return e;
  if (nbytes) memcpy(dst, (const char *)b->data + offset, (size_t)nbytes);
  be->bytes_from_device += nbytes;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Synchronisation and counters                                                              */

static rlax_error *cb_synchronize(rlax_backend *be) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "synchronize: backend is NULL");
  return NULL; /* every op is synchronous */
}

static rlax_error *cb_get_counters(rlax_backend *be, rlax_counters *out) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "get_counters: backend is NULL");
  if (!out) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "get_counters: out is NULL");
  SET_FIELD(rlax_counters, out, ops, be->ops);
  SET_FIELD(rlax_counters, out, flops, be->flops);
  SET_FIELD(rlax_counters, out, bytes_moved, be->bytes_moved);
  SET_FIELD(rlax_counters, out, bytes_to_device, be->bytes_to_device);
  SET_FIELD(rlax_counters, out, bytes_from_device, be->bytes_from_device);
  SET_FIELD(rlax_counters, out, memory_in_use, be->memory_in_use);
  SET_FIELD(rlax_counters, out, peak_memory, be->peak_memory);
  SET_FIELD(rlax_counters, out, simulated_seconds, -1.0);
  return NULL;
}

static rlax_error *cb_reset_counters(rlax_backend *be) {
  if (!be) return cb_error(RLAX_ERROR_INVALID_ARGUMENT, "reset_counters: backend is NULL");
  be->ops = 0;
  be->flops = 0;
  be->bytes_moved = 0;
  be->bytes_to_device = 0;
  be->bytes_from_device = 0;
  be->peak_memory = be->memory_in_use;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_backend_api api = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = cb_error_code,
    .error_message = cb_error_message,
    .error_destroy = cb_error_destroy,
    .create = cb_create,
    .destroy = cb_destroy,
    .describe = cb_describe,
    .buffer_allocate = cb_buffer_allocate,
    .buffer_free = cb_buffer_free,
    .buffer_copy_from_host = cb_copy_from_host,
    .buffer_copy_to_host = cb_copy_to_host,
    .matmul = cb_matmul,
    .unary = cb_unary,
    .binary = cb_binary,
    .fill = cb_fill,
    .reduce = cb_reduce,
    .softmax = cb_softmax,
    .rmsnorm_forward = cb_rmsnorm_forward,
    .rmsnorm_backward = cb_rmsnorm_backward,
    .rope_forward = cb_rope_forward,
    .rope_backward = cb_rope_backward,
    .swiglu_forward = cb_swiglu_forward,
    .swiglu_backward = cb_swiglu_backward,
    .attention_forward = cb_attention_forward,
    .attention_backward = cb_attention_backward,
    .embedding_forward = cb_embedding_forward,
    .embedding_backward = cb_embedding_backward,
    .logsoftmax_gather_forward = cb_logsoftmax_gather_forward,
    .logsoftmax_gather_backward = cb_logsoftmax_gather_backward,
    .adamw = cb_adamw,
    .synchronize = cb_synchronize,
    .get_counters = cb_get_counters,
    .reset_counters = cb_reset_counters,
};

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = CB_NAME,
    .version = "0.1.0",
    .description = "fp32 CPU backend on OpenBLAS",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, CB_NAME)) return NULL;
  return &api;
}
