/*
 * Plugins/shared/store_common.h — header-only helpers shared by the bundled weight stores
 * (Plugins/weight-stores/memory and Plugins/weight-stores/file). Everything is static inline
 * so each plugin stays a single self-contained shared object that needs only include/rlax/.
 *
 *   - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF;
 *     crc32c("123456789") == 0xE3069283). Table-driven slicing-by-8, with the SSE4.2 crc32
 *     instruction on x86-64 when the CPU has it (chosen at run time; both give equal results).
 *     This is the checksum both stores keep per tensor.
 *   - dtype <-> safetensors dtype names ("F32", "BF16", ...).
 *   - option parsing (known keys, keep=N).
 *   - validation of rlax_tensor_data arrays and rlax_fetch_request arrays.
 *
 * Errors made here come from rlax_support_error_v, so the error_destroy that
 * RLAX_DEFINE_ERRORS defines frees them like its own.
 */
#ifndef RLAX_PLUGINS_STORE_COMMON_H
#define RLAX_PLUGINS_STORE_COMMON_H

#include <rlax/weight_store.h>
#include <rlax/plugin_support.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SC_DEFAULT_KEEP 3

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */

__attribute__((format(printf, 2, 3))) static inline rlax_error *sc_error(rlax_error_code code,
                                                                         const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  rlax_error *e = rlax_support_error_v(code, fmt, ap);
  va_end(ap);
  return e;
}

/* ---------------------------------------------------------------------------------------- */
/* CRC-32C                                                                                   */

#define SC_CRC32C_POLY 0x82F63B78u

static inline uint32_t (*sc_crc32c_table_storage(void))[256] {
  static uint32_t table[8][256];
  return table;
}

static inline int *sc_crc32c_hw_storage(void) {
  static int hw;
  return &hw;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SC_CRC32C_HAVE_X86 1
__attribute__((target("sse4.2"))) static inline uint32_t sc_crc32c_x86(uint32_t crc,
                                                                       const unsigned char *p,
                                                                       size_t n) {
  uint64_t c = crc;
  while (n > 0 && ((uintptr_t)p & 7u)) {
    c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    n--;
  }
  while (n >= 32) {
    uint64_t w0, w1, w2, w3;
    memcpy(&w0, p, 8);
    memcpy(&w1, p + 8, 8);
    memcpy(&w2, p + 16, 8);
    memcpy(&w3, p + 24, 8);
    c = __builtin_ia32_crc32di(c, w0);
    c = __builtin_ia32_crc32di(c, w1);
    c = __builtin_ia32_crc32di(c, w2);
    c = __builtin_ia32_crc32di(c, w3);
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    c = __builtin_ia32_crc32di(c, w);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    n--;
  }
  return (uint32_t)c;
}
#endif

static inline void sc_crc32c_init_once(void) {
  uint32_t (*t)[256] = sc_crc32c_table_storage();
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1u) ? (c >> 1) ^ SC_CRC32C_POLY : c >> 1;
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; i++)
    for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
#ifdef SC_CRC32C_HAVE_X86
  __builtin_cpu_init();
  *sc_crc32c_hw_storage() = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#endif
  if (getenv("RLAX_CRC32C_NO_HW")) *sc_crc32c_hw_storage() = 0; /* for tests */
}

static inline void sc_crc32c_init(void) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, sc_crc32c_init_once);
}

/* Portable table-driven (slicing-by-8) update on the raw (pre-inverted) register. */
static inline uint32_t sc_crc32c_sw(uint32_t crc, const unsigned char *p, size_t n) {
  const uint32_t (*t)[256] = (const uint32_t (*)[256])sc_crc32c_table_storage();
  while (n > 0 && ((uintptr_t)p & 7u)) {
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
    n--;
  }
  while (n >= 8) {
    uint32_t lo = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24;
    uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                  (uint32_t)p[7] << 24;
    lo ^= crc;
    crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^
          t[4][lo >> 24] ^ t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^
          t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xFFu];
    n--;
  }
  return crc;
}

/* Continues a CRC-32C: start with crc = 0, feed the bytes in any number of pieces. */
static inline uint32_t sc_crc32c_update(uint32_t crc, const void *data, size_t n) {
  sc_crc32c_init();
  const unsigned char *p = (const unsigned char *)data;
  crc = ~crc;
#ifdef SC_CRC32C_HAVE_X86
  if (*sc_crc32c_hw_storage()) return ~sc_crc32c_x86(crc, p, n);
#endif
  return ~sc_crc32c_sw(crc, p, n);
}

static inline uint32_t sc_crc32c(const void *data, size_t n) {
  return sc_crc32c_update(0, data, n);
}

/* Copies n bytes and returns the CRC-32C of what landed in dst, a cache-sized piece at a
 * time so that the bytes are checksummed while still hot. */
static inline uint32_t sc_copy_crc32c(void *dst, const void *src, uint64_t n) {
  const size_t piece = 256u * 1024u;
  unsigned char *d = (unsigned char *)dst;
  const unsigned char *s = (const unsigned char *)src;
  uint32_t crc = 0;
  while (n > 0) {
    size_t k = n < piece ? (size_t)n : piece;
    memcpy(d, s, k);
    crc = sc_crc32c_update(crc, d, k);
    d += k;
    s += k;
    n -= k;
  }
  return crc;
}

/* ---------------------------------------------------------------------------------------- */
/* dtypes                                                                                    */

/* The safetensors name of a dtype; NULL when unknown. */
static inline const char *sc_dtype_name(rlax_dtype d) {
  switch (d) {
  case RLAX_DTYPE_F32: return "F32";
  case RLAX_DTYPE_BF16: return "BF16";
  case RLAX_DTYPE_F16: return "F16";
  case RLAX_DTYPE_I32: return "I32";
  case RLAX_DTYPE_I64: return "I64";
  case RLAX_DTYPE_U8: return "U8";
  case RLAX_DTYPE_F64: return "F64";
  default: return NULL;
  }
}

/* RLAX_DTYPE_INVALID when the name is not one of ours. */
static inline rlax_dtype sc_dtype_from_name(const char *s) {
  static const rlax_dtype all[] = {RLAX_DTYPE_F32, RLAX_DTYPE_BF16, RLAX_DTYPE_F16,
                                   RLAX_DTYPE_I32, RLAX_DTYPE_I64,  RLAX_DTYPE_U8,
                                   RLAX_DTYPE_F64};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (strcmp(s, sc_dtype_name(all[i])) == 0) return all[i];
  return RLAX_DTYPE_INVALID;
}

/* *out = product(shape) * size of dtype; false on an unknown dtype, a bad rank, a negative
 * dimension or overflow. */
static inline bool sc_tensor_nbytes(rlax_dtype dtype, int32_t rank, const int64_t *shape,
                                    uint64_t *out) {
  uint64_t n = rlax_dtype_size(dtype);
  if (n == 0 || rank < 0 || rank > RLAX_MAX_RANK) return false;
  for (int32_t i = 0; i < rank; i++) {
    if (shape[i] < 0) return false;
    if (__builtin_mul_overflow(n, (uint64_t)shape[i], &n)) return false;
  }
  *out = n;
  return true;
}

/* ---------------------------------------------------------------------------------------- */
/* Options                                                                                   */

/* Strict decimal: digits only, no sign, no spaces, no overflow. */
static inline bool sc_parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s) return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
      return false;
  }
  *out = v;
  return true;
}

/* Checks args and sorts its options into values[i] for known[i] (NULL when not given).
 * `store` names the store in messages ("memory store"). args may be NULL (no options). */
static inline rlax_error *sc_parse_options(const char *store,
                                           const rlax_weight_store_create_args *args,
                                           const char *const *known, size_t nknown,
                                           const char **values) {
  for (size_t k = 0; k < nknown; k++) values[k] = NULL;
  if (!args) return NULL;
  if (!RLAX_STRUCT_HAS_FIELD(rlax_weight_store_create_args, args->struct_size, num_options))
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: create args struct_size %zu is too small (need at least %zu)", store,
                    args->struct_size,
                    offsetof(rlax_weight_store_create_args, num_options) + sizeof(size_t));
  if (args->num_options > 0 && (!args->option_keys || !args->option_values))
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: %zu options but option_keys or option_values is NULL", store,
                    args->num_options);
  char known_list[256];
  size_t used = 0;
  known_list[0] = '\0';
  for (size_t k = 0; k < nknown; k++) {
    int n = snprintf(known_list + used, sizeof known_list - used, "%s%s", k ? ", " : "",
                     known[k]);
    if (n < 0 || (size_t)n >= sizeof known_list - used) break;
    used += (size_t)n;
  }
  for (size_t i = 0; i < args->num_options; i++) {
    const char *key = args->option_keys[i];
    const char *value = args->option_values[i];
    if (!key)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %zu has a NULL key", store, i);
    size_t k = 0;
    while (k < nknown && strcmp(key, known[k]) != 0) k++;
    if (k == nknown)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: unknown option \"%s\" (known options: %s)", store, key, known_list);
    if (!value)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s has a NULL value", store,
                      key);
    if (values[k])
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: option %s is given more than once",
                      store, key);
    values[k] = value;
  }
  return NULL;
}

/* keep=N, 1 <= N <= SC_MAX_KEEP; a NULL value gives the default. The message names the
 * option, the value as given and the range, e.g.
 *   memory store: invalid value "0" for option keep: expected an integer in 1...1000000
 *   (the number of weight versions kept) */
#define SC_MAX_KEEP 1000000u
static inline rlax_error *sc_parse_keep(const char *store, const char *value, size_t *keep) {
  *keep = SC_DEFAULT_KEEP;
  if (!value) return NULL;
  uint64_t v;
  if (!sc_parse_u64(value, &v) || v < 1 || v > SC_MAX_KEEP)
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: invalid value \"%s\" for option keep: expected an integer in 1...%u "
                    "(the number of weight versions kept)",
                    store, value, SC_MAX_KEEP);
  *keep = (size_t)v;
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Validation                                                                                */

/* True when the NUL-terminated string is well-formed UTF-8 (no overlongs, no surrogates). */
static inline bool sc_valid_utf8(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    unsigned c = *p;
    if (c < 0x80) { p++; continue; }
    int len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return false;
    for (int i = 1; i < len; i++) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    p += len;
  }
  return true;
}

static inline int sc_cmp_name_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Checks what publish was handed. `safetensors` additionally requires names that can be
 * safetensors keys (valid UTF-8, not "__metadata__"). */
static inline rlax_error *sc_validate_tensors(const char *store, uint64_t version,
                                              const rlax_tensor_data *const *tensors,
                                              size_t count, bool safetensors) {
  if (count > 0 && !tensors)
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: publish of version %" PRIu64
                    ": %zu tensors but the tensor array is NULL", store, version, count);
  for (size_t i = 0; i < count; i++) {
    const rlax_tensor_data *t = tensors[i];
    if (!t)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor %zu is NULL", store, version,
                      i);
    if (!RLAX_STRUCT_HAS_FIELD(rlax_tensor_data, t->struct_size, nbytes))
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64
                      ": tensor %zu has struct_size %zu, smaller than rlax_tensor_data (%zu)",
                      store, version, i, t->struct_size, sizeof(rlax_tensor_data));
    if (!t->name || !t->name[0])
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor %zu has %s name", store,
                      version, i, t->name ? "an empty" : "a NULL");
    size_t len = strnlen(t->name, RLAX_MAX_TENSOR_NAME);
    if (len >= RLAX_MAX_TENSOR_NAME)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64
                      ": tensor %zu has a name of %zu or more bytes (the limit is %d)",
                      store, version, i, len, RLAX_MAX_TENSOR_NAME - 1);
    if (safetensors && !sc_valid_utf8(t->name))
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor %zu: name is not valid UTF-8",
                      store, version, i);
    if (safetensors && strcmp(t->name, "__metadata__") == 0)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64
                      ": tensor name \"__metadata__\" is reserved by safetensors",
                      store, version);
    size_t esize = rlax_dtype_size(t->dtype);
    if (esize == 0 || !sc_dtype_name(t->dtype))
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor \"%s\" has unknown dtype %d",
                      store, version, t->name, (int)t->dtype);
    if (t->rank < 0 || t->rank > RLAX_MAX_RANK)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64
                      ": tensor \"%s\" has rank %d (must be 0 to %d)",
                      store, version, t->name, (int)t->rank, RLAX_MAX_RANK);
    for (int32_t d = 0; d < t->rank; d++)
      if (t->shape[d] < 0)
        return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                        "%s: publish of version %" PRIu64
                        ": tensor \"%s\" has negative dimension %d (%" PRId64 ")",
                        store, version, t->name, (int)d, t->shape[d]);
    uint64_t expected;
    if (!sc_tensor_nbytes(t->dtype, t->rank, t->shape, &expected))
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor \"%s\": size overflows",
                      store, version, t->name);
    if (t->nbytes != expected)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64 ": tensor \"%s\" has nbytes %" PRIu64
                      " but its shape and dtype make %" PRIu64 " bytes",
                      store, version, t->name, t->nbytes, expected);
    if (t->nbytes > 0 && !t->data)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: publish of version %" PRIu64
                      ": tensor \"%s\" has %" PRIu64 " bytes but data is NULL",
                      store, version, t->name, t->nbytes);
  }
  if (count > 1) {
    const char **names = (const char **)malloc(count * sizeof *names);
    if (!names)
      return sc_error(RLAX_ERROR_OUT_OF_MEMORY, "%s: out of memory checking tensor names",
                      store);
    for (size_t i = 0; i < count; i++) names[i] = tensors[i]->name;
    qsort(names, count, sizeof *names, sc_cmp_name_ptr);
    for (size_t i = 1; i < count; i++)
      if (strcmp(names[i - 1], names[i]) == 0) {
        rlax_error *e = sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                                 "%s: publish of version %" PRIu64
                                 ": tensor name \"%s\" appears more than once",
                                 store, version, names[i]);
        free(names);
        return e;
      }
    free(names);
  }
  return NULL;
}

/* Checks the version number publish was handed against the latest one. */
static inline rlax_error *sc_check_publish_version(const char *store, uint64_t version,
                                                   uint64_t latest) {
  if (version < 1)
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT, "%s: cannot publish version 0 (versions start at 1)",
                    store);
  if (version <= latest)
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: cannot publish version %" PRIu64
                    ": it must be greater than the latest version %" PRIu64,
                    store, version, latest);
  return NULL;
}

/* Checks the shape of fetch's arguments (names and sizes are the store's business). */
static inline rlax_error *sc_validate_requests(const char *store, uint64_t version,
                                               const rlax_fetch_request *const *requests,
                                               size_t count) {
  if (count > 0 && !requests)
    return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                    "%s: fetch of version %" PRIu64 ": %zu requests but the array is NULL",
                    store, version, count);
  for (size_t i = 0; i < count; i++) {
    const rlax_fetch_request *r = requests[i];
    if (!r)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: fetch of version %" PRIu64 ": request %zu is NULL", store, version,
                      i);
    if (!RLAX_STRUCT_HAS_FIELD(rlax_fetch_request, r->struct_size, nbytes))
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: fetch of version %" PRIu64
                      ": request %zu has struct_size %zu, smaller than rlax_fetch_request (%zu)",
                      store, version, i, r->struct_size, sizeof(rlax_fetch_request));
    if (!r->name)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: fetch of version %" PRIu64 ": request %zu has a NULL name", store,
                      version, i);
    if (r->nbytes > 0 && !r->data)
      return sc_error(RLAX_ERROR_INVALID_ARGUMENT,
                      "%s: fetch of version %" PRIu64
                      ": request for \"%s\" has %" PRIu64 " bytes but data is NULL",
                      store, version, r->name, r->nbytes);
  }
  return NULL;
}

/* Fills the fields of a caller's rlax_tensor_info that its struct_size covers. */
static inline void sc_fill_info(rlax_tensor_info *out, const char *name, rlax_dtype dtype,
                                int32_t rank, const int64_t *shape, uint64_t nbytes) {
  size_t s = out->struct_size;
  if (RLAX_STRUCT_HAS_FIELD(rlax_tensor_info, s, name)) {
    size_t n = strlen(name);
    if (n >= RLAX_MAX_TENSOR_NAME) n = RLAX_MAX_TENSOR_NAME - 1;
    memcpy(out->name, name, n);
    memset(out->name + n, 0, RLAX_MAX_TENSOR_NAME - n);
  }
  if (RLAX_STRUCT_HAS_FIELD(rlax_tensor_info, s, dtype)) out->dtype = dtype;
  if (RLAX_STRUCT_HAS_FIELD(rlax_tensor_info, s, rank)) out->rank = rank;
  if (RLAX_STRUCT_HAS_FIELD(rlax_tensor_info, s, shape)) {
    for (int d = 0; d < RLAX_MAX_RANK; d++) out->shape[d] = d < rank ? shape[d] : 0;
  }
  if (RLAX_STRUCT_HAS_FIELD(rlax_tensor_info, s, nbytes)) out->nbytes = nbytes;
}

/* Absolute CLOCK_MONOTONIC deadline timeout_ms from now (timeout_ms >= 0). */
static inline struct timespec sc_deadline_after_ms(int64_t timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t sec = timeout_ms / 1000;
  long nsec = (long)(timeout_ms % 1000) * 1000000L;
  if (sec > (int64_t)(INT64_MAX / 2)) sec = INT64_MAX / 2; /* effectively forever */
  ts.tv_sec += (time_t)sec;
  ts.tv_nsec += nsec;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static inline int sc_timespec_cmp(struct timespec a, struct timespec b) {
  if (a.tv_sec != b.tv_sec) return a.tv_sec < b.tv_sec ? -1 : 1;
  if (a.tv_nsec != b.tv_nsec) return a.tv_nsec < b.tv_nsec ? -1 : 1;
  return 0;
}

/* Initialises a condition variable that times out against CLOCK_MONOTONIC. */
static inline int sc_cond_init_monotonic(pthread_cond_t *cv) {
  pthread_condattr_t attr;
  int rc = pthread_condattr_init(&attr);
  if (rc) return rc;
  rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  if (rc == 0) rc = pthread_cond_init(cv, &attr);
  pthread_condattr_destroy(&attr);
  return rc;
}

#endif /* RLAX_PLUGINS_STORE_COMMON_H */
