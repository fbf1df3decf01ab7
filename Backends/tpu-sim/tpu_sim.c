/* tpu-sim: a simulated TPU v5p slice — entry points, options, the delegate, buffers, counters. */
#include "tpu_sim.h"

#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>

RLAX_DEFINE_ERRORS(ts)

rlax_error *ts_err(rlax_error_code code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rlax_error *e = rlax_support_error_v(code, fmt, ap);
  va_end(ap);
  return e;
}

rlax_error *ts_wrap(const rlax_backend_api *d, rlax_error *e, const char *prefix) {
  if (!e) return NULL;
  const rlax_error_code code = d->error_code(e);
  const char *message = d->error_message(e);
  rlax_error *mine = ts_err(code == RLAX_OK ? RLAX_ERROR_INTERNAL : code, "%s%s",
                            prefix ? prefix : "", message ? message : "(no message)");
  d->error_destroy(e);
  return mine;
}

/* The services table the host handed to rlax_get_backend_api; passed on to the delegate. */
static _Atomic(const rlax_host_services *) host_services;

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */

static const char *const known_keys =
    "topology, slice, hbm_bytes, peak_flops_bf16, peak_flops_f32, vpu_flops, hbm_bandwidth, "
    "op_overhead, mxu_tile, ici_link_bandwidth, ici_hop_latency, preempt_every, preempt_prob, "
    "preempt_seed, delegate, delegate.<key> (passed to the delegate)";

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (!s || !*s) return false;
  for (const char *p = s; *p; p++)
    if (*p < '0' || *p > '9') return false;
  errno = 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* A finite decimal number in [lo, hi] filling the whole string (e.g. 459e12, 1e-6). */
static bool parse_double(const char *s, double lo, double hi, double *out) {
  if (!s || !*s) return false;
  errno = 0;
  char *end = NULL;
  double v = strtod(s, &end);
  if (errno || !end || *end || !isfinite(v) || v < lo || v > hi) return false;
  *out = v;
  return true;
}

/* "XxYxZ", each 1 ... 64 and at most 8960 chips in all (a v5p pod). */
static bool parse_topology(const char *s, int dims[3]) {
  if (!s) return false;
  const char *p = s;
  for (int i = 0; i < 3; i++) {
    if (*p < '0' || *p > '9') return false;
    char *end = NULL;
    long v = strtol(p, &end, 10);
    if (v < 1 || v > 64) return false;
    dims[i] = (int)v;
    p = end;
    if (i < 2) {
      if (*p != 'x') return false;
      p++;
    }
  }
  return *p == '\0' && (int64_t)dims[0] * dims[1] * dims[2] <= 8960;
}

/* Slice shapes of the Cloud TPU v5p documentation ("v5p-N": N TensorCores, 2 per chip). */
static const struct {
  int cores;
  int dims[3];
} v5p_slices[] = {
    {8, {2, 2, 1}},      {16, {2, 2, 2}},     {32, {2, 2, 4}},      {64, {2, 4, 4}},
    {128, {4, 4, 4}},    {256, {4, 4, 8}},    {512, {4, 8, 8}},     {1024, {8, 8, 8}},
    {2048, {8, 8, 16}},  {4096, {8, 16, 16}}, {8192, {16, 16, 16}}, {12288, {16, 16, 24}},
};

static bool parse_slice(const char *s, int dims[3]) {
  uint64_t cores = 0;
  if (!s || strncmp(s, "v5p-", 4) != 0 || !parse_u64(s + 4, 1, 1u << 20, &cores)) return false;
  for (size_t i = 0; i < sizeof v5p_slices / sizeof v5p_slices[0]; i++)
    if ((uint64_t)v5p_slices[i].cores == cores) {
      memcpy(dims, v5p_slices[i].dims, sizeof v5p_slices[i].dims);
      return true;
    }
  return false;
}

#define BAD_OPTION(k, v, what)                                                              \
  ts_err(RLAX_ERROR_INVALID_ARGUMENT, "tpu-sim: option %s=%s: expected %s", (k),            \
         (v) ? (v) : "(null)", (what))

/* Parses one option into cfg (or records the delegate's path and options). */
static rlax_error *parse_option(ts_config *cfg, const char *k, const char *v, bool *have_topology,
                                bool *have_slice, const char **delegate_path) {
  double x = 0.0;
  uint64_t u = 0;
  if (strcmp(k, "topology") == 0) {
    if (!parse_topology(v, cfg->dims))
      return BAD_OPTION(k, v, "XxYxZ chips per dimension, each 1 ... 64, e.g. 4x4x4");
    *have_topology = true;
  } else if (strcmp(k, "slice") == 0) {
    if (!parse_slice(v, cfg->dims))
      return BAD_OPTION(k, v,
                        "v5p-N with N TensorCores (2 per chip) one of 8, 16, 32, 64, 128, 256, "
                        "512, 1024, 2048, 4096, 8192, 12288; use topology=XxYxZ for others");
    *have_slice = true;
  } else if (strcmp(k, "hbm_bytes") == 0) {
    if (!parse_u64(v, 1, UINT64_MAX, &u)) return BAD_OPTION(k, v, "a positive number of bytes");
    cfg->hbm_bytes = u;
  } else if (strcmp(k, "peak_flops_bf16") == 0) {
    if (!parse_double(v, 1.0, 1e30, &x)) return BAD_OPTION(k, v, "FLOP/s, 1 ... 1e30");
    cfg->peak_flops_bf16 = x;
  } else if (strcmp(k, "peak_flops_f32") == 0) {
    if (!parse_double(v, 0.0, 1e30, &x)) return BAD_OPTION(k, v, "FLOP/s, 0 ... 1e30");
    cfg->peak_flops_f32 = x;
  } else if (strcmp(k, "vpu_flops") == 0) {
    if (!parse_double(v, 1.0, 1e30, &x)) return BAD_OPTION(k, v, "FLOP/s, 1 ... 1e30");
    cfg->vpu_flops = x;
  } else if (strcmp(k, "hbm_bandwidth") == 0) {
    if (!parse_double(v, 1.0, 1e30, &x)) return BAD_OPTION(k, v, "bytes/s, 1 ... 1e30");
    cfg->hbm_bandwidth = x;
  } else if (strcmp(k, "op_overhead") == 0) {
    if (!parse_double(v, 0.0, 1.0, &x)) return BAD_OPTION(k, v, "seconds, 0 ... 1");
    cfg->op_overhead = x;
  } else if (strcmp(k, "mxu_tile") == 0) {
    if (!parse_u64(v, 1, 65536, &u)) return BAD_OPTION(k, v, "an integer in 1 ... 65536");
    cfg->mxu_tile = (int64_t)u;
  } else if (strcmp(k, "ici_link_bandwidth") == 0) {
    if (!parse_double(v, 1.0, 1e30, &x)) return BAD_OPTION(k, v, "bytes/s, 1 ... 1e30");
    cfg->ici_link_bandwidth = x;
  } else if (strcmp(k, "ici_hop_latency") == 0) {
    if (!parse_double(v, 0.0, 1.0, &x)) return BAD_OPTION(k, v, "seconds, 0 ... 1");
    cfg->ici_hop_latency = x;
  } else if (strcmp(k, "preempt_every") == 0) {
    if (!parse_double(v, 0.0, 1e12, &x))
      return BAD_OPTION(k, v, "simulated seconds >= 0 (0 turns it off)");
    cfg->preempt_every = x;
  } else if (strcmp(k, "preempt_prob") == 0) {
    if (!parse_double(v, 0.0, 1.0, &x)) return BAD_OPTION(k, v, "a probability in 0 ... 1");
    cfg->preempt_prob = x;
  } else if (strcmp(k, "preempt_seed") == 0) {
    if (!parse_u64(v, 0, UINT64_MAX, &u)) return BAD_OPTION(k, v, "an integer >= 0");
    cfg->preempt_seed = u;
  } else if (strcmp(k, "delegate") == 0) {
    if (!v || !*v) return BAD_OPTION(k, v, "the path of a backend plugin (cpu-blas.so)");
    *delegate_path = v;
  } else if (strncmp(k, "delegate.", 9) == 0 && k[9]) {
    /* passed to the delegate's create */
  } else {
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "tpu-sim: unknown option \"%s\"; known options: %s",
                  k, known_keys);
  }
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* The delegate                                                                              */

/* Directory of this shared object + "/cpu-blas.so". */
static bool default_delegate_path(char *out, size_t cap) {
  Dl_info info;
  if (!dladdr((void *)&ts_err, &info) || !info.dli_fname) return false;
  const char *slash = strrchr(info.dli_fname, '/');
  int n = slash ? snprintf(out, cap, "%.*s/cpu-blas.so", (int)(slash - info.dli_fname),
                           info.dli_fname)
                : snprintf(out, cap, "./cpu-blas.so");
  return n > 0 && (size_t)n < cap;
}

static void release_delegate(rlax_backend *be) {
  if (be->inner) {
    be->d->buffer_free(be->inner, be->half.buffer);
    be->d->buffer_free(be->inner, be->round_a.buffer);
    be->d->buffer_free(be->inner, be->round_b.buffer);
    be->d->destroy(be->inner); /* frees every delegate buffer still alive */
    be->inner = NULL;
  }
  if (be->library) dlclose(be->library);
  be->library = NULL;
}

/* Loads the delegate named by `path` (user_given: from the delegate option) and creates its
 * backend with the options "delegate.<key>=<value>". */
static rlax_error *load_delegate(rlax_backend *be, const char *path, bool user_given,
                                 const rlax_backend_create_args *args) {
  const rlax_error_code fail = user_given ? RLAX_ERROR_INVALID_ARGUMENT : RLAX_ERROR_UNAVAILABLE;
  snprintf(be->delegate_path, sizeof be->delegate_path, "%s", path);
  be->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!be->library) {
    const char *why = dlerror();
    return ts_err(fail,
                  "tpu-sim: cannot load the delegate backend %s (%s); tpu-sim computes through "
                  "cpu-blas: build it next to tpu-sim.so or pass delegate=PATH",
                  path, why ? why : "dlopen failed");
  }
  rlax_plugin_manifest_fn manifest_fn =
      (rlax_plugin_manifest_fn)dlsym(be->library, RLAX_MANIFEST_SYMBOL);
  const rlax_manifest *m = manifest_fn ? manifest_fn() : NULL;
  if (!m || !(m->kinds & RLAX_KIND_BACKEND))
    return ts_err(fail, "tpu-sim: delegate %s is not an rlax backend plugin (no manifest with "
                  "the backend kind)", path);
  if (m->name && strcmp(m->name, TS_NAME) == 0)
    return ts_err(RLAX_ERROR_INVALID_ARGUMENT,
                  "tpu-sim: delegate %s is tpu-sim itself; expected a computing backend such as "
                  "cpu-blas", path);
  rlax_get_backend_api_fn get_api =
      (rlax_get_backend_api_fn)dlsym(be->library, RLAX_BACKEND_ENTRY_SYMBOL);
  if (!get_api)
    return ts_err(fail, "tpu-sim: delegate %s has no %s", path, RLAX_BACKEND_ENTRY_SYMBOL);
  const rlax_backend_api *d = get_api(atomic_load(&host_services));
  if (!d)
    return ts_err(RLAX_ERROR_UNAVAILABLE, "tpu-sim: delegate %s refused this host (get-api "
                  "returned NULL)", path);
  if (d->abi_major != RLAX_ABI_MAJOR || d->struct_size < RLAX_BACKEND_API_MIN_SIZE ||
      !d->error_code || !d->error_message || !d->error_destroy || !d->create || !d->destroy ||
      !d->describe || !d->buffer_allocate || !d->buffer_free || !d->buffer_copy_from_host ||
      !d->buffer_copy_to_host || !d->get_counters || !d->unary || !d->matmul)
    return ts_err(RLAX_ERROR_UNAVAILABLE,
                  "tpu-sim: delegate %s has ABI major %u and a %zu-byte table; expected major %u "
                  "with create, describe, memory, counters, unary and matmul",
                  path, (unsigned)d->abi_major, d->struct_size, (unsigned)RLAX_ABI_MAJOR);
  be->d = d;

  /* the delegate's own options: delegate.<key>=<value> */
  size_t n = 0;
  const char *keys[64], *values[64];
  for (size_t i = 0; args && i < args->num_options; i++) {
    const char *k = args->option_keys[i];
    if (strncmp(k, "delegate.", 9) != 0 || !k[9]) continue;
    if (n == 64) return ts_err(RLAX_ERROR_INVALID_ARGUMENT, "tpu-sim: more than 64 delegate.* options");
    keys[n] = k + 9;
    values[n] = args->option_values[i];
    n++;
  }
  rlax_backend_create_args dargs = {sizeof dargs, keys, values, n};
  rlax_backend *inner = NULL;
  rlax_error *e = d->create(&dargs, &inner);
  if (e) {
    char prefix[1100];
    snprintf(prefix, sizeof prefix, "tpu-sim: creating the delegate %s: ", path);
    return ts_wrap(d, e, prefix);
  }
  be->inner = inner;
  rlax_device_desc desc;
  memset(&desc, 0, sizeof desc);
  desc.struct_size = sizeof desc;
  e = d->describe(inner, &desc);
  if (e) return ts_wrap(d, e, "tpu-sim: describing the delegate: ");
  if (!desc.present || !(desc.dtypes & RLAX_DTYPE_BIT(RLAX_DTYPE_BF16)) ||
      !(desc.dtypes & RLAX_DTYPE_BIT(RLAX_DTYPE_F32)))
    return ts_err(RLAX_ERROR_UNAVAILABLE,
                  "tpu-sim: delegate %s must be present and list F32 and BF16 (bf16 rounding of "
                  "matmul inputs goes through its unary COPY)", path);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Lifetime                                                                                  */

static void format_name(rlax_backend *be) {
  const int *d = be->cfg.dims;
  snprintf(be->name, sizeof be->name, "TPU v5p-%" PRId64 " (%dx%dx%d, %" PRId64 " chip%s), simulated",
           2 * be->cfg.chips, d[0], d[1], d[2], be->cfg.chips, be->cfg.chips == 1 ? "" : "s");
}

static void ts_destroy(rlax_backend *be);

static rlax_error *ts_create(const rlax_backend_create_args *args, rlax_backend **out) {
  if (!out) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "create: out is NULL");
  *out = NULL;
  ts_config cfg;
  ts_config_defaults(&cfg);
  bool have_topology = false, have_slice = false;
  const char *delegate_path = NULL;
  if (args) {
    if (!RLAX_STRUCT_HAS_FIELD(rlax_backend_create_args, args->struct_size, num_options))
      return ts_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "create: args.struct_size is %zu, expected at least %zu", args->struct_size,
                      sizeof(rlax_backend_create_args));
    if (args->num_options && (!args->option_keys || !args->option_values))
      return ts_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "create: %zu options but option_keys or option_values is NULL",
                      args->num_options);
    for (size_t i = 0; i < args->num_options; i++) {
      const char *k = args->option_keys[i];
      if (!k) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "create: option %zu has a NULL key", i);
      rlax_error *e = parse_option(&cfg, k, args->option_values[i], &have_topology, &have_slice,
                                   &delegate_path);
      if (e) return e;
    }
  }
  if (have_topology && have_slice)
    return ts_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "tpu-sim: options topology and slice both given; give one (slice=v5p-N is "
                    "N TensorCores, 2 per chip)");
  cfg.chips = (int64_t)cfg.dims[0] * cfg.dims[1] * cfg.dims[2];

  rlax_backend *be = (rlax_backend *)calloc(1, sizeof *be);
  if (!be) return ts_error(RLAX_ERROR_OUT_OF_MEMORY, "create: out of memory");
  be->cfg = cfg;
  be->next_preemption = cfg.preempt_every;
  char path[1024];
  if (!delegate_path) {
    if (!default_delegate_path(path, sizeof path)) {
      free(be);
      return ts_error(RLAX_ERROR_UNAVAILABLE,
                      "tpu-sim: cannot find the directory tpu-sim.so was loaded from; pass "
                      "delegate=PATH to cpu-blas.so");
    }
    delegate_path = path;
  }
  rlax_error *e = load_delegate(be, delegate_path, delegate_path != path, args);
  if (e) {
    ts_destroy(be);
    return e;
  }
  format_name(be);
  char line[1400];
  snprintf(line, sizeof line,
           "tpu-sim: %s; HBM %" PRIu64 " bytes per chip; numerics by %s (matmul inputs "
           "rounded to bf16); all-reduce of 1 GiB over the slice ~ %.3g ms",
           be->name, cfg.hbm_bytes, be->delegate_path,
           1e3 * ts_allreduce_seconds(&cfg, (double)(1u << 30)));
  rlax_support_log(atomic_load(&host_services), RLAX_LOG_DEBUG, line);
  *out = be;
  return NULL;
}

static void ts_destroy(rlax_backend *be) {
  if (!be) return;
  struct rlax_buffer *b = be->buffers;
  while (b) { /* their delegate buffers go with the delegate */
    struct rlax_buffer *next = b->next;
    b->magic = 0;
    free(b);
    b = next;
  }
  release_delegate(be);
  free(be);
}

#define SET_FIELD(type, out, field, value)                                              \
  do {                                                                                  \
    if (RLAX_STRUCT_HAS_FIELD(type, (out)->struct_size, field)) (out)->field = (value); \
  } while (0)

static rlax_error *ts_describe(rlax_backend *be, rlax_device_desc *out) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "describe: backend is NULL");
  if (!out) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "describe: out is NULL");
  SET_FIELD(rlax_device_desc, out, name, be->name);
  SET_FIELD(rlax_device_desc, out, platform, "tpu");
  SET_FIELD(rlax_device_desc, out, present, true);
  SET_FIELD(rlax_device_desc, out, device_count, (int32_t)be->cfg.chips);
  SET_FIELD(rlax_device_desc, out, memory_bytes, be->cfg.hbm_bytes);
  SET_FIELD(rlax_device_desc, out, peak_flops_f32, be->cfg.peak_flops_f32);
  SET_FIELD(rlax_device_desc, out, peak_flops_bf16, be->cfg.peak_flops_bf16);
  SET_FIELD(rlax_device_desc, out, memory_bandwidth_bytes_per_s, be->cfg.hbm_bandwidth);
  SET_FIELD(rlax_device_desc, out, dtypes,
            RLAX_DTYPE_BIT(RLAX_DTYPE_F32) | RLAX_DTYPE_BIT(RLAX_DTYPE_BF16) |
                RLAX_DTYPE_BIT(RLAX_DTYPE_I32));
  SET_FIELD(rlax_device_desc, out, capabilities,
            (uint64_t)(RLAX_CAP_SIMULATED_CLOCK | RLAX_CAP_MEMORY_LIMIT | RLAX_CAP_BF16_MATMUL |
                       RLAX_CAP_PREEMPTION));
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Buffers: HBM accounting around the delegate's buffers                                     */

bool ts_buffer_ok(const rlax_backend *be, const struct rlax_buffer *b) {
  return b && b->magic == TS_BUFFER_MAGIC && b->owner == be;
}

static rlax_error *ts_buffer_allocate(rlax_backend *be, uint64_t size, rlax_buffer **out) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: backend is NULL");
  if (!out) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: out is NULL");
  *out = NULL;
  if (size == 0)
    return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "buffer_allocate: size_bytes is 0, expected > 0");
  const uint64_t cap = be->cfg.hbm_bytes;
  const uint64_t free_bytes = cap > be->memory_in_use ? cap - be->memory_in_use : 0;
  if (size > free_bytes)
    return ts_error(RLAX_ERROR_OUT_OF_MEMORY,
                    "tpu-sim: buffer_allocate: %" PRIu64 " bytes requested, %" PRIu64
                    " bytes free of the chip's %" PRIu64 "-byte HBM (%" PRIu64
                    " in use; option hbm_bytes)",
                    size, free_bytes, cap, be->memory_in_use);
  struct rlax_buffer *b = (struct rlax_buffer *)calloc(1, sizeof *b);
  if (!b) return ts_error(RLAX_ERROR_OUT_OF_MEMORY, "buffer_allocate: out of host memory");
  rlax_buffer *inner = NULL;
  rlax_error *e = be->d->buffer_allocate(be->inner, size, &inner);
  if (e) {
    free(b);
    return ts_wrap(be->d, e, "tpu-sim: the delegate holding simulated HBM on the host: ");
  }
  b->magic = TS_BUFFER_MAGIC;
  b->owner = be;
  b->size = size;
  b->inner = inner;
  b->next = be->buffers;
  if (be->buffers) be->buffers->prev = b;
  be->buffers = b;
  be->memory_in_use += size;
  if (be->memory_in_use > be->peak_memory) be->peak_memory = be->memory_in_use;
  *out = b;
  return NULL;
}

static void ts_buffer_free(rlax_backend *be, rlax_buffer *b) {
  if (!be || !ts_buffer_ok(be, b)) return;
  if (b->prev) b->prev->next = b->next;
  else be->buffers = b->next;
  if (b->next) b->next->prev = b->prev;
  be->memory_in_use -= b->size;
  be->d->buffer_free(be->inner, b->inner);
  b->magic = 0;
  free(b);
}

static rlax_error *check_copy(const char *op, rlax_backend *be, const struct rlax_buffer *b) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: backend is NULL", op);
  if (!b) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: buffer is NULL", op);
  if (!ts_buffer_ok(be, b))
    return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: buffer is not a live buffer of this backend",
                    op);
  return NULL;
}

static rlax_error *ts_copy_from_host(rlax_backend *be, rlax_buffer *b, uint64_t offset,
                                     const void *src, uint64_t nbytes) {
  rlax_error *e = check_copy("buffer_copy_from_host", be, b);
  if (e) return e;
  e = be->d->buffer_copy_from_host(be->inner, b->inner, offset, src, nbytes);
  if (e) return ts_wrap(be->d, e, NULL);
  be->bytes_to_device += nbytes;
  return NULL;
}

static rlax_error *ts_copy_to_host(rlax_backend *be, rlax_buffer *b, uint64_t offset, void *dst,
                                   uint64_t nbytes) {
  rlax_error *e = check_copy("buffer_copy_to_host", be, b);
  if (e) return e;
  e = be->d->buffer_copy_to_host(be->inner, b->inner, offset, dst, nbytes);
  if (e) return ts_wrap(be->d, e, NULL);
  be->bytes_from_device += nbytes;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Preemption, accounting, counters                                                          */

rlax_error *ts_preempt_check(rlax_backend *be, const char *op) {
  const ts_config *c = &be->cfg;
  const uint64_t n = be->op_attempts++;
  if (c->preempt_every > 0.0 && be->clock >= be->next_preemption) {
    const double t = be->clock;
    be->next_preemption = (floor(t / c->preempt_every) + 1.0) * c->preempt_every;
    return ts_error(RLAX_ERROR_PREEMPTED,
                    "tpu-sim: preempted at simulated t=%.9gs (preempt_every=%gs); %s did not run",
                    t, c->preempt_every, op);
  }
  if (c->preempt_prob > 0.0 && ts_uniform(c->preempt_seed, n) < c->preempt_prob)
    return ts_error(RLAX_ERROR_PREEMPTED,
                    "tpu-sim: preempted at simulated t=%.9gs (preempt_prob=%g, preempt_seed=%" PRIu64
                    ", op call %" PRIu64 "); %s did not run",
                    be->clock, c->preempt_prob, c->preempt_seed, n, op);
  return NULL;
}

void ts_account(rlax_backend *be, double flops, double bytes, ts_cost cost) {
  const double seconds = cost.seconds + cost.overhead;
  be->ops++;
  be->flops += flops;
  be->bytes_moved += (uint64_t)bytes;
  be->clock += seconds;
  be->sim_seconds += seconds;
  switch (cost.bound) {
  case TS_BOUND_COMPUTE: be->sim_compute_seconds += cost.seconds; break;
  case TS_BOUND_MEMORY: be->sim_memory_seconds += cost.seconds; break;
  case TS_BOUND_COLLECTIVE: be->sim_collective_seconds += cost.seconds; break;
  }
}

static rlax_error *ts_synchronize(rlax_backend *be) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "synchronize: backend is NULL");
  if (be->d->synchronize) {
    rlax_error *e = be->d->synchronize(be->inner);
    if (e) return ts_wrap(be->d, e, NULL);
  }
  return NULL;
}

static rlax_error *ts_get_counters(rlax_backend *be, rlax_counters *out) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "get_counters: backend is NULL");
  if (!out) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "get_counters: out is NULL");
  SET_FIELD(rlax_counters, out, ops, be->ops);
  SET_FIELD(rlax_counters, out, flops, be->flops);
  SET_FIELD(rlax_counters, out, bytes_moved, be->bytes_moved);
  SET_FIELD(rlax_counters, out, bytes_to_device, be->bytes_to_device);
  SET_FIELD(rlax_counters, out, bytes_from_device, be->bytes_from_device);
  SET_FIELD(rlax_counters, out, memory_in_use, be->memory_in_use);
  SET_FIELD(rlax_counters, out, peak_memory, be->peak_memory);
  SET_FIELD(rlax_counters, out, simulated_seconds, be->sim_seconds);
  SET_FIELD(rlax_counters, out, simulated_compute_seconds, be->sim_compute_seconds);
  SET_FIELD(rlax_counters, out, simulated_memory_seconds, be->sim_memory_seconds);
  SET_FIELD(rlax_counters, out, simulated_collective_seconds, be->sim_collective_seconds);
  return NULL;
}

static rlax_error *ts_reset_counters(rlax_backend *be) {
  if (!be) return ts_error(RLAX_ERROR_INVALID_ARGUMENT, "reset_counters: backend is NULL");
  be->ops = 0;
  be->flops = 0;
  be->bytes_moved = 0;
  be->bytes_to_device = 0;
  be->bytes_from_device = 0;
  be->peak_memory = be->memory_in_use;
  be->sim_seconds = 0; /* the preemption schedule keeps be->clock, counted since create */
  be->sim_compute_seconds = 0;
  be->sim_memory_seconds = 0;
  be->sim_collective_seconds = 0;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Entry points                                                                              */

static const rlax_backend_api api = {
    .struct_size = sizeof(rlax_backend_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = ts_error_code,
    .error_message = ts_error_message,
    .error_destroy = ts_error_destroy,
    .create = ts_create,
    .destroy = ts_destroy,
    .describe = ts_describe,
    .buffer_allocate = ts_buffer_allocate,
    .buffer_free = ts_buffer_free,
    .buffer_copy_from_host = ts_copy_from_host,
    .buffer_copy_to_host = ts_copy_to_host,
    .matmul = ts_matmul,
    .unary = ts_unary,
    .binary = ts_binary,
    .fill = ts_fill,
    .reduce = ts_reduce,
    .softmax = ts_softmax,
    .rmsnorm_forward = ts_rmsnorm_forward,
    .rmsnorm_backward = ts_rmsnorm_backward,
    .rope_forward = ts_rope_forward,
    .rope_backward = ts_rope_backward,
    .swiglu_forward = ts_swiglu_forward,
    .swiglu_backward = ts_swiglu_backward,
    .attention_forward = ts_attention_forward,
    .attention_backward = ts_attention_backward,
    .embedding_forward = ts_embedding_forward,
    .embedding_backward = ts_embedding_backward,
    .logsoftmax_gather_forward = ts_logsoftmax_gather_forward,
    .logsoftmax_gather_backward = ts_logsoftmax_gather_backward,
    .adamw = ts_adamw,
    .synchronize = ts_synchronize,
    .get_counters = ts_get_counters,
    .reset_counters = ts_reset_counters,
    .all_reduce = ts_all_reduce,
};

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = TS_NAME,
    .version = "0.1.0",
    .description = "simulated TPU v5p slice: bf16 MXU numerics, roofline clock, HBM capacity, "
                   "injected preemptions (computes through cpu-blas)",
    .kinds = RLAX_KIND_BACKEND,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_backend_api *rlax_get_backend_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, TS_NAME)) return NULL;
  atomic_store(&host_services, services);
  return &api;
}
