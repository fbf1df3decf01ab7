/*
 * gpu_stub.c — a backend that loads and describes a GPU that is not there.
 *
 * It exists so that `--backend gpu-stub` (and a GPU backend slot in the configs) fails with
 * one clear line instead of a crash or a missing-plugin error: create and describe succeed
 * (present = false, device_count = 0), and every memory function, op and synchronize answers
 * RLAX_ERROR_UNAVAILABLE, e.g.
 *   "gpu-stub: matmul is unavailable: this build has no GPU device (use --backend cpu-blas or tpu-sim)"
 * Every op pointer is non-NULL on purpose: the host reports "unavailable", not "not supported".
 */
#include <rlax/backend.h>
#include <rlax/plugin_support.h>

RLAX_DEFINE_ERRORS(stub)

struct rlax_backend {
  int unused;
};

/* The one error every unavailable function returns. */
static rlax_error *unavailable(const char *what) {
  return stub_error(RLAX_ERROR_UNAVAILABLE,
                    "gpu-stub: %s is unavailable: this build has no GPU device "
                    "(use --backend cpu-blas or tpu-sim)",
                    what);
}

static rlax_error *stub_create(const rlax_backend_create_args *args, rlax_backend **out) {
  if (!out) return stub_error(RLAX_ERROR_INVALID_ARGUMENT, "gpu-stub: create: out is NULL");
  *out = NULL;
  if (args && RLAX_STRUCT_HAS_FIELD(rlax_backend_create_args, args->struct_size, num_options) &&
      args->num_options > 0) {
    const char *key = args->option_keys && args->option_keys[0] ? args->option_keys[0] : "(null)";
    return stub_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "gpu-stub: unknown option '%s' (this backend takes no options)", key);
  }
  rlax_backend *b = calloc(1, sizeof *b);
  if (!b) return stub_error(RLAX_ERROR_OUT_OF_MEMORY, "gpu-stub: create: out of memory");
  *out = b;
  return NULL;
}

static void stub_destroy(rlax_backend *b) { free(b); }

/* Copies the fields of `full` that the caller's struct_size covers into *out. */
static void copy_sized(void *out, const void *full, size_t full_size) {
  size_t caller = *(const size_t *)out;
  size_t n = caller < full_size ? caller : full_size;
  if (n > sizeof(size_t))
    memcpy((char *)out + sizeof(size_t), (const char *)full + sizeof(size_t), n - sizeof(size_t));
}

static rlax_error *stub_describe(rlax_backend *b, rlax_device_desc *out) {
  (void)b;
  if (!out) return stub_error(RLAX_ERROR_INVALID_ARGUMENT, "gpu-stub: describe: out is NULL");
  const rlax_device_desc d = {
      .struct_size = sizeof d,
      .name = "gpu-stub: no GPU device present",
      .platform = "gpu",
      .present = false,
      .device_count = 0,
      .memory_bytes = 0,
      .peak_flops_f32 = 0,
      .peak_flops_bf16 = 0,
      .memory_bandwidth_bytes_per_s = 0,
      .dtypes = 0, /* stores nothing: there is no device */
      .capabilities = 0,
  };
  copy_sized(out, &d, sizeof d);
  return NULL;
}

static rlax_error *stub_get_counters(rlax_backend *b, rlax_counters *out) {
  (void)b;
  if (!out) return stub_error(RLAX_ERROR_INVALID_ARGUMENT, "gpu-stub: get_counters: out is NULL");
  const rlax_counters c = {.struct_size = sizeof c, .simulated_seconds = -1.0};
  copy_sized(out, &c, sizeof c);
  return NULL;
}

static rlax_error *stub_reset_counters(rlax_backend *b) {
  (void)b;
  return NULL;
}

/* -- memory: nothing can be allocated, so nothing can be copied or freed -- */

static rlax_error *stub_buffer_allocate(rlax_backend *b, uint64_t size, rlax_buffer **out) {
  (void)b;
  (void)size;
  if (out) *out = NULL;
  return unavailable("buffer_allocate");
}

static void stub_buffer_free(rlax_backend *b, rlax_buffer *buffer) {
  (void)b;
  (void)buffer; /* NULL, or something this backend never made: nothing to free either way */
}

static rlax_error *stub_copy_from_host(rlax_backend *b, rlax_buffer *buf, uint64_t off,
                                       const void *src, uint64_t n) {
  (void)b, (void)buf, (void)off, (void)src, (void)n;
  return unavailable("buffer_copy_from_host");
}

static rlax_error *stub_copy_to_host(rlax_backend *b, rlax_buffer *buf, uint64_t off, void *dst,
                                     uint64_t n) {
  (void)b, (void)buf, (void)off, (void)dst, (void)n;
  return unavailable("buffer_copy_to_host");
}

static rlax_error *stub_synchronize(rlax_backend *b) {
  (void)b;
  return unavailable("synchronize");
}

/* -- ops: one generated function per op, all answering through unavailable() -- */

#define UNAVAILABLE_OP(op)                                                   \
  static rlax_error *stub_##op(rlax_backend *b, const rlax_##op##_args *a) { \
    (void)b;                                                                 \
    (void)a;                                                                 \
    return unavailable(#op);                                                 \
  }

UNAVAILABLE_OP(matmul)
UNAVAILABLE_OP(unary)
UNAVAILABLE_OP(binary)
UNAVAILABLE_OP(fill)
UNAVAILABLE_OP(reduce)
UNAVAILABLE_OP(softmax)
UNAVAILABLE_OP(rmsnorm_forward)
UNAVAILABLE_OP(rmsnorm_backward)
UNAVAILABLE_OP(rope_forward)
UNAVAILABLE_OP(rope_backward)
UNAVAILABLE_OP(swiglu_forward)
UNAVAILABLE_OP(swiglu_backward)
UNAVAILABLE_OP(attention_forward)
UNAVAILABLE_OP(attention_backward)
UNAVAILABLE_OP(embedding_forward)
UNAVAILABLE_OP(embedding_backward)
UNAVAILABLE_OP(logsoftmax_gather_forward)
UNAVAILABLE_OP(logsoftmax_gather_backward)
UNAVAILABLE_OP(adamw)

static const rlax_backend_api stub_api = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = stub_error_code,
    .error_message = stub_error_message,
    .error_destroy = stub_error_destroy,
    .create = stub_create,
    .destroy = stub_destroy,
    .describe = stub_describe,
    .buffer_allocate = stub_buffer_allocate,
    .buffer_free = stub_buffer_free,
    .buffer_copy_from_host = stub_copy_from_host,
    .buffer_copy_to_host = stub_copy_to_host,
    .matmul = stub_matmul,
    .unary = stub_unary,
    .binary = stub_binary,
    .fill = stub_fill,
    .reduce = stub_reduce,
    .softmax = stub_softmax,
    .rmsnorm_forward = stub_rmsnorm_forward,
    .rmsnorm_backward = stub_rmsnorm_backward,
    .rope_forward = stub_rope_forward,
    .rope_backward = stub_rope_backward,
    .swiglu_forward = stub_swiglu_forward,
    .swiglu_backward = stub_swiglu_backward,
    .attention_forward = stub_attention_forward,
    .attention_backward = stub_attention_backward,
    .embedding_forward = stub_embedding_forward,
    .embedding_backward = stub_embedding_backward,
    .logsoftmax_gather_forward = stub_logsoftmax_gather_forward,
    .logsoftmax_gather_backward = stub_logsoftmax_gather_backward,
    .adamw = stub_adamw,
    .synchronize = stub_synchronize,
    .get_counters = stub_get_counters,
    .reset_counters = stub_reset_counters,
};

static const rlax_manifest stub_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "gpu-stub",
    .version = "0.1.0",
    .description = "placeholder GPU backend: loads and describes itself, every op is unavailable",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &stub_manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "gpu-stub")) return NULL;
  return &stub_api;
}
