/*
 * memory — an in-process weight store. Versions live in this process's memory.
 *
 * Options: keep=N (1 <= N <= 1000000, default 3).
 *
 * Every version is an immutable, reference-counted object. The store holds one reference to
 * each retained version; a reader takes its own reference under the store lock and then
 * copies without the lock, so retention (which only drops the store's reference) never frees
 * memory a reader is still copying from. A reader that looks the version up after retention
 * removed it gets NOT_FOUND. Publish builds the whole version (copies + checksums) before it
 * takes the lock and appends it, so a version is visible only when complete.
 *
 * Checksum: CRC-32C of each tensor's bytes (Plugins/shared/store_common.h), computed from the
 * stored copy at publish and checked against the stored bytes as fetch copies them out.
 *
 * corrupt_for_testing replaces the version with a copy whose tensor has one byte flipped
 * (the stored checksum is flipped instead for a zero-byte tensor), so concurrent readers of
 * the old copy are unaffected.
 */
#include "../../shared/store_common.h"

#include <stdatomic.h>

RLAX_DEFINE_ERRORS(mem)

#define STORE "memory store"

typedef struct mem_tensor {
  const char *name; /* points into the version's name arena */
  rlax_dtype dtype;
  int32_t rank;
  int64_t shape[RLAX_MAX_RANK];
  uint64_t nbytes;
  uint32_t crc;
  unsigned char *data; /* NULL when nbytes == 0 */
} mem_tensor;

typedef struct mem_version {
  atomic_size_t refs;
  uint64_t version;
  size_t count;
  mem_tensor *tensors; /* publish order */
  size_t *by_name;     /* indices into tensors, sorted by name */
  char *names;         /* arena */
} mem_version;

struct rlax_weight_store {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* broadcast on every publish; CLOCK_MONOTONIC */
  size_t keep;
  uint64_t latest;       /* 0 when none */
  mem_version **versions; /* retained, oldest first */
  size_t nversions, cap;
};

/* ---------------------------------------------------------------------------------------- */

static void version_free(mem_version *v) {
  if (!v) return;
  if (v->tensors)
    for (size_t i = 0; i < v->count; i++) free(v->tensors[i].data);
  free(v->tensors);
  free(v->by_name);
  free(v->names);
  free(v);
}

static void version_release(mem_version *v) {
  if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) version_free(v);
}

typedef struct name_index {
  const char *name;
  size_t index;
} name_index;

static int cmp_name_index(const void *a, const void *b) {
  return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

/* Lookup of a tensor by name; SIZE_MAX when absent. */
static size_t version_find(const mem_version *v, const char *name) {
  size_t lo = 0, hi = v->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(v->tensors[v->by_name[mid]].name, name);
    if (c == 0) return v->by_name[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return SIZE_MAX;
}

/* Allocates the version's arrays and name arena; data is filled in by the caller. */
static mem_version *version_alloc(uint64_t version, size_t count, size_t names_bytes) {
  mem_version *v = (mem_version *)calloc(1, sizeof *v);
  if (!v) return NULL;
  atomic_init(&v->refs, 1);
  v->version = version;
  v->count = count;
  v->tensors = (mem_tensor *)calloc(count ? count : 1, sizeof *v->tensors);
  v->by_name = (size_t *)malloc((count ? count : 1) * sizeof *v->by_name);
  v->names = (char *)malloc(names_bytes ? names_bytes : 1);
  if (!v->tensors || !v->by_name || !v->names) {
    version_free(v);
    return NULL;
  }
  return v;
}

/* Fills by_name; false when out of memory. */
static bool version_index(mem_version *v) {
  if (v->count <= 1) {
    if (v->count == 1) v->by_name[0] = 0;
    return true;
  }
  name_index *tmp = (name_index *)malloc(v->count * sizeof *tmp);
  if (!tmp) return false;
  for (size_t i = 0; i < v->count; i++) tmp[i] = (name_index){v->tensors[i].name, i};
  qsort(tmp, v->count, sizeof *tmp, cmp_name_index);
  for (size_t i = 0; i < v->count; i++) v->by_name[i] = tmp[i].index;
  free(tmp);
  return true;
}

/* Under mu: index of version in store->versions, or SIZE_MAX. */
static size_t find_version_locked(const rlax_weight_store *s, uint64_t version) {
  size_t lo = 0, hi = s->nversions;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t v = s->versions[mid]->version;
    if (v == version) return mid;
    if (v < version) lo = mid + 1;
    else hi = mid;
  }
  return SIZE_MAX;
}

/* A new reference to a retained version, or NULL. */
static mem_version *acquire_version(rlax_weight_store *s, uint64_t version) {
  mem_version *v = NULL;
  pthread_mutex_lock(&s->mu);
  size_t i = find_version_locked(s, version);
  if (i != SIZE_MAX) {
    v = s->versions[i];
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&s->mu);
  return v;
}

static rlax_error *not_found_version(uint64_t version) {
  return mem_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " is not retained",
                   version);
}

/* ---------------------------------------------------------------------------------------- */

static rlax_error *mem_create(const rlax_weight_store_create_args *args,
                              rlax_weight_store **out) {
  if (!out) return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": create: out is NULL");
  *out = NULL;
  static const char *const known[] = {"keep"};
  const char *values[1];
  rlax_error *e = sc_parse_options(STORE, args, known, 1, values);
  if (e) return e;
  size_t keep;
  if ((e = sc_parse_keep(STORE, values[0], &keep))) return e;

  rlax_weight_store *s = (rlax_weight_store *)calloc(1, sizeof *s);
  if (!s) return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory");
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    free(s);
    return mem_error(RLAX_ERROR_INTERNAL, STORE ": pthread_mutex_init failed");
  }
  if (sc_cond_init_monotonic(&s->cv) != 0) {
    pthread_mutex_destroy(&s->mu);
    free(s);
    return mem_error(RLAX_ERROR_INTERNAL, STORE ": pthread_cond_init failed");
  }
  s->keep = keep;
  sc_crc32c_init();
  *out = s;
  return NULL;
}

static void mem_destroy(rlax_weight_store *s) {
  if (!s) return;
  for (size_t i = 0; i < s->nversions; i++) version_release(s->versions[i]);
  free(s->versions);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

static rlax_error *mem_publish(rlax_weight_store *s, uint64_t version,
                               const rlax_tensor_data *const *tensors, size_t count) {
  if (!s) return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": publish: store is NULL");
  pthread_mutex_lock(&s->mu);
  uint64_t latest = s->latest;
  pthread_mutex_unlock(&s->mu);
  rlax_error *e = sc_check_publish_version(STORE, version, latest);
  if (e) return e;
  if ((e = sc_validate_tensors(STORE, version, tensors, count, false))) return e;

  /* Build the whole version outside the lock. */
  size_t names_bytes = 0;
  for (size_t i = 0; i < count; i++) names_bytes += strlen(tensors[i]->name) + 1;
  mem_version *v = version_alloc(version, count, names_bytes);
  if (!v) return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory publishing version %" PRIu64, version);
  char *np = v->names;
  for (size_t i = 0; i < count; i++) {
    const rlax_tensor_data *t = tensors[i];
    mem_tensor *m = &v->tensors[i];
    size_t len = strlen(t->name) + 1;
    memcpy(np, t->name, len);
    m->name = np;
    np += len;
    m->dtype = t->dtype;
    m->rank = t->rank;
    for (int d = 0; d < RLAX_MAX_RANK; d++) m->shape[d] = d < t->rank ? t->shape[d] : 0;
    m->nbytes = t->nbytes;
    if (t->nbytes > 0) {
      if (t->nbytes > SIZE_MAX || !(m->data = (unsigned char *)malloc((size_t)t->nbytes))) {
        version_free(v);
        return mem_error(RLAX_ERROR_OUT_OF_MEMORY,
                         STORE ": out of memory copying tensor \"%s\" (%" PRIu64
                         " bytes) of version %" PRIu64,
                         t->name, t->nbytes, version);
      }
      m->crc = sc_copy_crc32c(m->data, t->data, t->nbytes);
    } else {
      m->crc = sc_crc32c(NULL, 0);
    }
  }
  if (!version_index(v)) {
    version_free(v);
    return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory publishing version %" PRIu64, version);
  }

  /* Commit. */
  mem_version **removed = NULL;
  size_t nremoved = 0;
  pthread_mutex_lock(&s->mu);
  if ((e = sc_check_publish_version(STORE, version, s->latest))) { /* a racing publisher */
    pthread_mutex_unlock(&s->mu);
    version_free(v);
    return e;
  }
  if (s->nversions == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 4;
    mem_version **nv = (mem_version **)realloc(s->versions, ncap * sizeof *nv);
    if (!nv) {
      pthread_mutex_unlock(&s->mu);
      version_free(v);
      return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory publishing version %" PRIu64, version);
    }
    s->versions = nv;
    s->cap = ncap;
  }
  s->versions[s->nversions++] = v;
  s->latest = version;
  if (s->nversions > s->keep) {
    nremoved = s->nversions - s->keep;
    removed = (mem_version **)malloc(nremoved * sizeof *removed);
    if (removed) {
      memcpy(removed, s->versions, nremoved * sizeof *removed);
      memmove(s->versions, s->versions + nremoved, s->keep * sizeof *s->versions);
      s->nversions = s->keep;
    } else {
      nremoved = 0; /* retry at the next publish */
    }
  }
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  for (size_t i = 0; i < nremoved; i++) version_release(removed[i]);
  free(removed);
  return NULL;
}

static rlax_error *mem_latest(rlax_weight_store *s, uint64_t *out) {
  if (!s || !out) return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": latest: NULL argument");
  pthread_mutex_lock(&s->mu);
  *out = s->latest;
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static rlax_error *mem_list_versions(rlax_weight_store *s, uint64_t *versions, size_t capacity,
                                     size_t *out_count) {
  if (!s || !out_count || (capacity > 0 && !versions))
    return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": list_versions: NULL argument");
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->nversions && i < capacity; i++) versions[i] = s->versions[i]->version;
  *out_count = s->nversions;
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static rlax_error *mem_tensor_count(rlax_weight_store *s, uint64_t version, size_t *out_count) {
  if (!s || !out_count)
    return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": tensor_count: NULL argument");
  mem_version *v = acquire_version(s, version);
  if (!v) return not_found_version(version);
  *out_count = v->count;
  version_release(v);
  return NULL;
}

static rlax_error *mem_tensor_info(rlax_weight_store *s, uint64_t version, size_t index,
                                   rlax_tensor_info *out) {
  if (!s || !out)
    return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": tensor_info: NULL argument");
  mem_version *v = acquire_version(s, version);
  if (!v) return not_found_version(version);
  if (index >= v->count) {
    size_t n = v->count;
    version_release(v);
    return mem_error(RLAX_ERROR_INVALID_ARGUMENT,
                     STORE ": tensor index %zu is out of range: version %" PRIu64
                     " has %zu tensors",
                     index, version, n);
  }
  const mem_tensor *t = &v->tensors[index];
  sc_fill_info(out, t->name, t->dtype, t->rank, t->shape, t->nbytes);
  version_release(v);
  return NULL;
}

static rlax_error *mem_fetch(rlax_weight_store *s, uint64_t version,
                             const rlax_fetch_request *const *requests, size_t count) {
  if (!s) return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": fetch: store is NULL");
  rlax_error *e = sc_validate_requests(STORE, version, requests, count);
  if (e) return e;
  mem_version *v = acquire_version(s, version);
  if (!v) return not_found_version(version);
  /* Check every request before copying anything. */
  for (size_t i = 0; i < count && !e; i++) {
    const rlax_fetch_request *r = requests[i];
    size_t k = version_find(v, r->name);
    if (k == SIZE_MAX)
      e = mem_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " has no tensor \"%s\"",
                    version, r->name);
    else if (v->tensors[k].nbytes != r->nbytes)
      e = mem_error(RLAX_ERROR_INVALID_ARGUMENT,
                    STORE ": fetch of tensor \"%s\" of version %" PRIu64 ": request has %" PRIu64
                    " bytes but the tensor has %" PRIu64,
                    r->name, version, r->nbytes, v->tensors[k].nbytes);
  }
  for (size_t i = 0; i < count && !e; i++) {
    const rlax_fetch_request *r = requests[i];
    const mem_tensor *t = &v->tensors[version_find(v, r->name)];
    uint32_t crc = t->nbytes ? sc_copy_crc32c(r->data, t->data, t->nbytes) : sc_crc32c(NULL, 0);
    if (crc != t->crc)
      e = mem_error(RLAX_ERROR_CORRUPT,
                    STORE ": checksum mismatch in tensor \"%s\" of version %" PRIu64
                    ": expected crc32c %08" PRIx32 ", found %08" PRIx32,
                    r->name, version, t->crc, crc);
  }
  version_release(v);
  return e;
}

static rlax_error *mem_wait_newer(rlax_weight_store *s, uint64_t after, int64_t timeout_ms,
                                  uint64_t *out) {
  if (!s || !out) return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": wait_newer: NULL argument");
  struct timespec deadline;
  if (timeout_ms > 0) deadline = sc_deadline_after_ms(timeout_ms);
  pthread_mutex_lock(&s->mu);
  while (s->latest <= after && timeout_ms != 0) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&s->cv, &s->mu);
    } else {
      int rc = pthread_cond_timedwait(&s->cv, &s->mu, &deadline);
      if (rc == ETIMEDOUT) break;
    }
  }
  *out = s->latest > after ? s->latest : 0;
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

static rlax_error *mem_corrupt_for_testing(rlax_weight_store *s, uint64_t version,
                                           const char *tensor_name) {
  if (!s || !tensor_name)
    return mem_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": corrupt_for_testing: NULL argument");
  mem_version *old = acquire_version(s, version);
  if (!old) return not_found_version(version);
  size_t k = version_find(old, tensor_name);
  if (k == SIZE_MAX) {
    version_release(old);
    return mem_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " has no tensor \"%s\"",
                     version, tensor_name);
  }
  /* Copy-on-write: readers holding the old version keep reading consistent bytes. */
  size_t names_bytes = 0;
  for (size_t i = 0; i < old->count; i++) names_bytes += strlen(old->tensors[i].name) + 1;
  mem_version *v = version_alloc(version, old->count, names_bytes);
  if (!v) {
    version_release(old);
    return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory");
  }
  char *np = v->names;
  for (size_t i = 0; i < old->count; i++) {
    mem_tensor *m = &v->tensors[i];
    *m = old->tensors[i];
    size_t len = strlen(old->tensors[i].name) + 1;
    memcpy(np, old->tensors[i].name, len);
    m->name = np;
    np += len;
    m->data = NULL;
    if (m->nbytes > 0) {
      if (!(m->data = (unsigned char *)malloc((size_t)m->nbytes))) {
        version_free(v);
        version_release(old);
        return mem_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory");
      }
      memcpy(m->data, old->tensors[i].data, (size_t)m->nbytes);
    }
  }
  memcpy(v->by_name, old->by_name, old->count * sizeof *v->by_name);
  mem_tensor *t = &v->tensors[k];
  if (t->nbytes > 0) t->data[t->nbytes / 2] ^= 0x5A;
  else t->crc ^= 0x5A5A5A5Au;
  version_release(old);

  pthread_mutex_lock(&s->mu);
  size_t i = find_version_locked(s, version);
  mem_version *replaced = NULL;
  if (i != SIZE_MAX) {
    replaced = s->versions[i];
    s->versions[i] = v;
  }
  pthread_mutex_unlock(&s->mu);
  if (!replaced) { /* retention removed it meanwhile */
    version_free(v);
    return not_found_version(version);
  }
  version_release(replaced);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */

static const rlax_weight_store_api k_api = {
    .struct_size = sizeof(rlax_weight_store_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = mem_error_code,
    .error_message = mem_error_message,
    .error_destroy = mem_error_destroy,
    .create = mem_create,
    .destroy = mem_destroy,
    .publish = mem_publish,
    .latest = mem_latest,
    .list_versions = mem_list_versions,
    .tensor_count = mem_tensor_count,
    .tensor_info = mem_tensor_info,
    .fetch = mem_fetch,
    .wait_newer = mem_wait_newer,
    .corrupt_for_testing = mem_corrupt_for_testing,
};

static const rlax_manifest k_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "memory",
    .version = "0.1.0",
    .description = "in-process weight store: versions kept in memory, CRC-32C checked",
    .kinds = RLAX_KIND_WEIGHT_STORE,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &k_manifest; }

RLAX_EXPORT const rlax_weight_store_api *rlax_get_weight_store_api(
    const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "memory")) return NULL;
  return &k_api;
}
