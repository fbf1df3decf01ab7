/*
 * Broken on purpose: a weight store that keeps every version in memory and answers every call
 * with success, but lies about or mishandles the first tensor of a version (tensor 0), by the
 * option lie=...:
 *   rank       tensor_info reports rank 99
 *   nbytes     tensor_info reports 4 bytes more than dtype size x product(shape)
 *   huge       tensor_info reports shape [2^62, 16] (the byte count overflows 64 bits)
 *   negative   tensor_info reports a dimension of -3
 *   missing    the version holds every tensor but the last one (tensor_count is one short)
 *   dtype      tensor_info reports BF16 (with a consistent byte count)
 *   shape      tensor_info reports a 2-D shape transposed (same byte count)
 *   extra      the version reports one more tensor, "stowaway", of 4 bytes
 *   unwritten  fetch reports success without writing tensor 0
 *   partial    fetch writes only the first half of tensor 0
 *   crash      fetch dereferences NULL (on whichever thread fetches: a rollout worker)
 *   hang       fetch never returns
 * The host must turn each lie into an error naming the store and the tensor (or, for crash and
 * hang, end the process with a message naming the store and fetch), never load zeros or stale
 * bytes, never read out of bounds.
 */
#include <rlax/weight_store.h>
#include <rlax/plugin_support.h>

#include <pthread.h>
#include <time.h>
#include <unistd.h>

RLAX_DEFINE_ERRORS(ls)

struct tensor {
  char name[RLAX_MAX_TENSOR_NAME];
  rlax_dtype dtype;
  int32_t rank;
  int64_t shape[RLAX_MAX_RANK];
  uint64_t nbytes;
  unsigned char *data;
};

struct version {
  uint64_t number;
  size_t count;
  struct tensor *tensors;
  struct version *next;
};

struct rlax_weight_store {
  char lie[32];
  pthread_mutex_t lock;
  pthread_cond_t published;
  struct version *versions; /* newest first */
};

static int lying(const rlax_weight_store *s, const char *what) { return strcmp(s->lie, what) == 0; }

static rlax_error *ls_create(const rlax_weight_store_create_args *args, rlax_weight_store **out) {
  rlax_weight_store *s = calloc(1, sizeof *s);
  if (!s) return ls_error(RLAX_ERROR_OUT_OF_MEMORY, "lying-store: out of memory");
  for (size_t i = 0; args && i < args->num_options; i++) {
    if (strcmp(args->option_keys[i], "lie") == 0) snprintf(s->lie, sizeof s->lie, "%s", args->option_values[i]);
    else if (strcmp(args->option_keys[i], "keep") == 0) continue; /* keeps everything */
    else {
      free(s);
      return ls_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-store: unknown option %s", args->option_keys[i]);
    }
  }
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->published, NULL);
  *out = s;
  return NULL;
}

static void ls_destroy(rlax_weight_store *s) {
  if (!s) return;
  while (s->versions) {
    struct version *v = s->versions;
    s->versions = v->next;
    for (size_t i = 0; i < v->count; i++) free(v->tensors[i].data);
    free(v->tensors);
    free(v);
  }
  free(s);
}

static rlax_error *ls_publish(rlax_weight_store *s, uint64_t number, const rlax_tensor_data *const *tensors, size_t count) {
  struct version *v = calloc(1, sizeof *v);
  v->number = number;
  v->count = count;
  v->tensors = calloc(count ? count : 1, sizeof *v->tensors);
  for (size_t i = 0; i < count; i++) {
    struct tensor *t = &v->tensors[i];
    snprintf(t->name, sizeof t->name, "%s", tensors[i]->name);
    t->dtype = tensors[i]->dtype;
    t->rank = tensors[i]->rank;
    memcpy(t->shape, tensors[i]->shape, sizeof t->shape);
    t->nbytes = tensors[i]->nbytes;
    t->data = malloc(t->nbytes ? t->nbytes : 1);
    if (t->nbytes) memcpy(t->data, tensors[i]->data, t->nbytes);
  }
  pthread_mutex_lock(&s->lock);
  if (s->versions && number <= s->versions->number) {
    pthread_mutex_unlock(&s->lock);
    return ls_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-store: version %llu is not newer", (unsigned long long)number);
  }
  v->next = s->versions;
  s->versions = v;
  pthread_cond_broadcast(&s->published);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static struct version *find(rlax_weight_store *s, uint64_t number) {
  pthread_mutex_lock(&s->lock);
  struct version *v = s->versions;
  while (v && v->number != number) v = v->next;
  pthread_mutex_unlock(&s->lock);
  return v;
}

static rlax_error *ls_latest(rlax_weight_store *s, uint64_t *out) {
  pthread_mutex_lock(&s->lock);
  *out = s->versions ? s->versions->number : 0;
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static rlax_error *ls_list(rlax_weight_store *s, uint64_t *versions, size_t capacity, size_t *out_count) {
  pthread_mutex_lock(&s->lock);
  size_t n = 0;
  for (struct version *v = s->versions; v; v = v->next) n++;
  size_t i = n;
  for (struct version *v = s->versions; v; v = v->next) {
    i--;
    if (i < capacity) versions[i] = v->number;
  }
  *out_count = n;
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static size_t visible_count(const rlax_weight_store *s, const struct version *v) {
  if (lying(s, "missing") && v->count > 0) return v->count - 1;
  if (lying(s, "extra")) return v->count + 1;
  return v->count;
}

static rlax_error *ls_count(rlax_weight_store *s, uint64_t number, size_t *out) {
  struct version *v = find(s, number);
  if (!v) return ls_error(RLAX_ERROR_NOT_FOUND, "lying-store: no version %llu", (unsigned long long)number);
  *out = visible_count(s, v);
  return NULL;
}

static rlax_error *ls_info(rlax_weight_store *s, uint64_t number, size_t index, rlax_tensor_info *out) {
  struct version *v = find(s, number);
  if (!v) return ls_error(RLAX_ERROR_NOT_FOUND, "lying-store: no version %llu", (unsigned long long)number);
  if (index >= visible_count(s, v)) return ls_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-store: no tensor %zu", index);
  rlax_tensor_info info = {.struct_size = sizeof info};
  if (index == v->count) { /* the stowaway of lie=extra */
    snprintf(info.name, sizeof info.name, "stowaway");
    info.dtype = RLAX_DTYPE_F32;
    info.rank = 1;
    info.shape[0] = 1;
    info.nbytes = 4;
  } else {
    const struct tensor *t = &v->tensors[index];
    memcpy(info.name, t->name, sizeof info.name);
    info.dtype = t->dtype;
    info.rank = t->rank;
    memcpy(info.shape, t->shape, sizeof info.shape);
    info.nbytes = t->nbytes;
    if (index == 0) {
      if (lying(s, "rank")) info.rank = 99;
      if (lying(s, "nbytes")) info.nbytes += 4;
      if (lying(s, "huge")) {
        info.rank = 2;
        info.shape[0] = (int64_t)1 << 62;
        info.shape[1] = 16;
      }
      if (lying(s, "negative")) info.shape[0] = -3;
      if (lying(s, "dtype")) {
        info.dtype = RLAX_DTYPE_BF16;
        info.nbytes /= 2;
      }
      if (lying(s, "shape") && info.rank == 2) {
        int64_t a = info.shape[0];
        info.shape[0] = info.shape[1];
        info.shape[1] = a;
      }
    }
  }
  size_t n = out->struct_size < sizeof info ? out->struct_size : sizeof info;
  memcpy((char *)out + sizeof(size_t), (char *)&info + sizeof(size_t), n - sizeof(size_t));
  return NULL;
}

static rlax_error *ls_fetch(rlax_weight_store *s, uint64_t number, const rlax_fetch_request *const *requests, size_t count) {
  if (lying(s, "crash")) {
    volatile int *null = NULL;
    *null = 1;
  }
  if (lying(s, "hang"))
    for (;;) sleep(1);
  struct version *v = find(s, number);
  if (!v) return ls_error(RLAX_ERROR_NOT_FOUND, "lying-store: no version %llu", (unsigned long long)number);
  for (size_t i = 0; i < count; i++) {
    const rlax_fetch_request *r = requests[i];
    size_t k = 0;
    while (k < v->count && strcmp(v->tensors[k].name, r->name) != 0) k++;
    if (k == v->count) return ls_error(RLAX_ERROR_NOT_FOUND, "lying-store: no tensor %s", r->name);
    const struct tensor *t = &v->tensors[k];
    if (r->nbytes != t->nbytes)
      return ls_error(RLAX_ERROR_INVALID_ARGUMENT, "lying-store: %s has %llu bytes, request has %llu", r->name,
                      (unsigned long long)t->nbytes, (unsigned long long)r->nbytes);
    if (k == 0 && lying(s, "unwritten")) continue;
    uint64_t n = k == 0 && lying(s, "partial") ? t->nbytes / 2 : t->nbytes;
    if (n) memcpy(r->data, t->data, n);
  }
  return NULL;
}

static rlax_error *ls_wait(rlax_weight_store *s, uint64_t after, int64_t timeout_ms, uint64_t *out) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_ms / 1000;
  deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
  if (deadline.tv_nsec >= 1000000000) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&s->lock);
  while (!(s->versions && s->versions->number > after)) {
    if (timeout_ms < 0) pthread_cond_wait(&s->published, &s->lock);
    else if (pthread_cond_timedwait(&s->published, &s->lock, &deadline) != 0) break;
  }
  *out = s->versions && s->versions->number > after ? s->versions->number : 0;
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

static const rlax_weight_store_api table = {
    .struct_size = sizeof(rlax_weight_store_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = ls_error_code,
    .error_message = ls_error_message,
    .error_destroy = ls_error_destroy,
    .create = ls_create,
    .destroy = ls_destroy,
    .publish = ls_publish,
    .latest = ls_latest,
    .list_versions = ls_list,
    .tensor_count = ls_count,
    .tensor_info = ls_info,
    .fetch = ls_fetch,
    .wait_newer = ls_wait,
};

static const rlax_manifest manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "lying-store",
    .version = "0.0.1",
    .description = "test fixture: a weight store that lies about or mishandles tensor 0",
    .kinds = RLAX_KIND_WEIGHT_STORE,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &manifest; }

RLAX_EXPORT const rlax_weight_store_api *rlax_get_weight_store_api(const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "lying-store")) return NULL;
  return &table;
}
