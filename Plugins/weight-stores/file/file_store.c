/*
 * file — a weight store in a directory, which a shared filesystem can hold.
 *
 * Options: dir=PATH (required; created with its parents if missing), keep=N (1...1000000, default 3).
 *
 * Layout: DIR/v00000000000000000012/weights.safetensors, one directory per version, named
 * "v" + 20 decimal digits. The file is real safetensors: an 8-byte little-endian header
 * length, a JSON header padded with spaces to a multiple of 8, then the tensors' bytes back to
 * back in publish order. The header's "__metadata__" holds
 *     "format": "rlax", "version": "12", "checksum_algorithm": "crc32c",
 *     "order": "[\"name0\",\"name1\",...]"   (publish order: a JSON array inside a string)
 *     "checksum.NAME": "1a2b3c4d"             (CRC-32C of the tensor's bytes, 8 hex digits)
 *
 * Publish writes DIR/.tmp-v<20 digits>-PID-RANDOM/weights.safetensors, fsyncs the file and
 * the directory, then renames the directory into place (atomic; RENAME_NOREPLACE where the
 * filesystem has it) and fsyncs DIR, so other processes never see a partial version.
 * Retention renames old version directories to DIR/.trash-... and then removes them; stale
 * .trash- entries are removed by later publishes. Versions are discovered by listing DIR, so
 * several processes can share it (one publisher). wait_newer polls DIR every 3 ms and also
 * wakes at once on a publish from this process (condition variable).
 *
 * Reading parses the header with a strict JSON reader (json.c) and checks it thoroughly
 * (CORRUPT on anything wrong). Parsed headers are cached per version, keyed by the file's
 * identity (device, inode, size, mtime). Tensor bytes are read lazily by fetch, with pread
 * straight into the caller's buffer, and checked against the checksum as they arrive. A
 * reader that opened a version keeps reading it consistently even if retention removes it
 * meanwhile; one that opens it after removal gets NOT_FOUND.
 *
 * corrupt_for_testing flips one byte of the tensor's data in the file (or one hex digit of
 * its checksum in the header when the tensor has no bytes).
 */
#include "../../shared/store_common.h"
#include "json.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

RLAX_DEFINE_ERRORS(fs)

#define STORE "file store"
#define DATA_FILE "weights.safetensors"
#define MAX_HEADER_LEN 100000000ull /* the limit safetensors itself enforces */
#define CACHE_SLOTS 8
#define POLL_MS 3
#define IO_PIECE (1u << 20)

typedef struct fs_tensor {
  const char *name; /* in the header's name arena */
  rlax_dtype dtype;
  int32_t rank;
  int64_t shape[RLAX_MAX_RANK];
  uint64_t begin, end; /* data_offsets, relative to the data section */
  uint32_t crc;
  uint64_t crc_file_offset; /* where the checksum's hex digits are in the file */
} fs_tensor;

/* One parsed, checked header. Immutable once built; reference counted. */
typedef struct fs_header {
  atomic_size_t refs;
  uint64_t version;
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  uint64_t data_start; /* 8 + header length */
  size_t count;
  fs_tensor *tensors; /* publish order */
  size_t *by_name;    /* indices sorted by name */
  char *names;
} fs_header;

struct rlax_weight_store {
  char *dir; /* absolute */
  size_t keep;
  pthread_mutex_t publish_mu; /* one publish at a time in this process */
  pthread_mutex_t mu;         /* guards published and cv */
  pthread_cond_t cv;          /* CLOCK_MONOTONIC; broadcast after each publish */
  uint64_t published;         /* count of publishes by this process */
  pthread_mutex_t cache_mu;
  fs_header *cache[CACHE_SLOTS];
  uint64_t cache_used[CACHE_SLOTS];
  uint64_t cache_tick;
};

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                             */

static rlax_error *io_error(const char *what, const char *path, int err) {
  return fs_error(RLAX_ERROR_IO, STORE ": %s %s: %s", what, path, strerror(err));
}

static void version_dir_name(char *buf, size_t n, uint64_t version) {
  snprintf(buf, n, "v%020" PRIu64, version);
}

/* Version number of a directory entry named "v" + 20 digits; 0 when the name is not one. */
static uint64_t parse_version_name(const char *name) {
  if (name[0] != 'v' || strlen(name) != 21) return 0;
  uint64_t v;
  if (!sc_parse_u64(name + 1, &v)) return 0;
  return v;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Lists the versions in DIR, ascending. *out may be NULL when *n is 0. */
static rlax_error *scan_versions(const rlax_weight_store *s, uint64_t **out, size_t *n) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(s->dir);
  if (!d) return io_error("cannot list directory", s->dir, errno);
  uint64_t *v = NULL;
  size_t len = 0, cap = 0;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    uint64_t version = parse_version_name(e->d_name);
    if (version == 0) continue;
    if (len == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      uint64_t *nv = (uint64_t *)realloc(v, ncap * sizeof *nv);
      if (!nv) {
        free(v);
        closedir(d);
        return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory listing %s", s->dir);
      }
      v = nv;
      cap = ncap;
    }
    v[len++] = version;
  }
  int err = errno;
  closedir(d);
  if (err) {
    free(v);
    return io_error("cannot list directory", s->dir, err);
  }
  if (len > 1) qsort(v, len, sizeof *v, cmp_u64);
  *out = v;
  *n = len;
  return NULL;
}

static rlax_error *scan_latest(const rlax_weight_store *s, uint64_t *latest) {
  uint64_t *v;
  size_t n;
  rlax_error *e = scan_versions(s, &v, &n);
  if (e) return e;
  *latest = n ? v[n - 1] : 0;
  free(v);
  return NULL;
}

static uint64_t random_u64(void) {
  static atomic_uint_fast64_t counter;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
               ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&ts ^
               (atomic_fetch_add(&counter, 1) * 0x9E3779B97F4A7C15ull);
  /* splitmix64 finaliser */
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

static int fsync_path(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  /* some filesystems refuse fsync on a directory; that is not a failure of ours */
  if (rc != 0 && (err == EINVAL || err == EROFS || err == EBADF)) rc = 0;
  errno = err;
  return rc;
}

/* Removes a directory tree (version directories hold files only; depth is bounded). */
static void remove_tree_at(int parent, const char *name, int depth) {
  if (unlinkat(parent, name, 0) == 0 || errno == ENOENT) return;
  if (depth > 8) return;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    remove_tree_at(dirfd(d), e->d_name, depth + 1);
  }
  closedir(d);
  unlinkat(parent, name, AT_REMOVEDIR);
}

static void remove_tree(const char *path) {
  remove_tree_at(AT_FDCWD, path, 0);
}

static bool write_all(int fd, const void *data, uint64_t n) {
  const unsigned char *p = (const unsigned char *)data;
  while (n > 0) {
    size_t k = n > (1u << 30) ? (1u << 30) : (size_t)n;
    ssize_t w = write(fd, p, k);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= (uint64_t)w;
  }
  return true;
}

/* pread exactly n bytes; returns 1 ok, 0 end of file first, -1 error (errno). */
static int pread_all(int fd, void *buf, size_t n, uint64_t off) {
  unsigned char *p = (unsigned char *)buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return 0;
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return 1;
}

/* mkdir -p */
static rlax_error *make_dirs(const char *path) {
  size_t n = strlen(path);
  char *buf = (char *)malloc(n + 1);
  if (!buf) return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory");
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    if (buf[i - 1] == '/') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
      rlax_error *e = io_error("cannot create directory", buf, errno);
      free(buf);
      return e;
    }
    buf[i] = saved;
  }
  free(buf);
  struct stat st;
  if (stat(path, &st) != 0) return io_error("cannot create directory", path, errno);
  if (!S_ISDIR(st.st_mode))
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": dir %s exists and is not a directory",
                    path);
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Headers: parsing, checking, caching                                                       */

static void header_free(fs_header *h) {
  if (!h) return;
  free(h->tensors);
  free(h->by_name);
  free(h->names);
  free(h);
}

static void header_release(fs_header *h) {
  if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) header_free(h);
}

static size_t header_find(const fs_header *h, const char *name) {
  size_t lo = 0, hi = h->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(h->tensors[h->by_name[mid]].name, name);
    if (c == 0) return h->by_name[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return SIZE_MAX;
}

typedef struct name_index {
  const char *name;
  size_t index;
} name_index;

static int cmp_name_index(const void *a, const void *b) {
  return strcmp(((const name_index *)a)->name, ((const name_index *)b)->name);
}

typedef struct offset_index {
  uint64_t begin, end;
  size_t index;
} offset_index;

static int cmp_offset_index(const void *a, const void *b) {
  const offset_index *x = (const offset_index *)a, *y = (const offset_index *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

/* The work of building a header from a parsed document; `bad` describes the first problem. */
typedef struct header_builder {
  const char *path;
  uint64_t version;
  const fsj_doc *doc;
  fs_tensor *tmp;   /* in document order */
  size_t count;
  char bad[320];
} header_builder;

__attribute__((format(printf, 2, 3))) static bool bad(header_builder *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b->bad, sizeof b->bad, fmt, ap);
  va_end(ap);
  return false;
}

static bool read_tensor_entry(header_builder *b, const fsj_node *entry, fs_tensor *t) {
  const fsj_doc *doc = b->doc;
  const char *name = entry->key;
  size_t name_len = strlen(name);
  if (name_len == 0) return bad(b, "a tensor has an empty name");
  if (name_len >= RLAX_MAX_TENSOR_NAME)
    return bad(b, "tensor name of %zu bytes is too long (the limit is %d)", name_len,
               RLAX_MAX_TENSOR_NAME - 1);
  if (entry->type != FSJ_OBJECT) return bad(b, "tensor \"%s\": entry is not an object", name);
  const fsj_node *dtype = NULL, *shape = NULL, *offsets = NULL;
  for (size_t c = entry->first; c != FSJ_NONE; c = doc->nodes[c].next) {
    const fsj_node *m = &doc->nodes[c];
    if (strcmp(m->key, "dtype") == 0) dtype = m;
    else if (strcmp(m->key, "shape") == 0) shape = m;
    else if (strcmp(m->key, "data_offsets") == 0) offsets = m;
    else return bad(b, "tensor \"%s\": unexpected key \"%s\"", name, m->key);
  }
  if (!dtype || dtype->type != FSJ_STRING)
    return bad(b, "tensor \"%s\": %s dtype", name, dtype ? "non-string" : "missing");
  t->dtype = sc_dtype_from_name(dtype->str);
  if (t->dtype == RLAX_DTYPE_INVALID)
    return bad(b, "tensor \"%s\": unknown dtype \"%s\"", name, dtype->str);
  if (!shape || shape->type != FSJ_ARRAY)
    return bad(b, "tensor \"%s\": %s shape", name, shape ? "non-array" : "missing");
  if (shape->count > RLAX_MAX_RANK)
    return bad(b, "tensor \"%s\": rank %zu is more than %d", name, shape->count, RLAX_MAX_RANK);
  t->rank = (int32_t)shape->count;
  memset(t->shape, 0, sizeof t->shape);
  int r = 0;
  for (size_t c = shape->first; c != FSJ_NONE; c = doc->nodes[c].next, r++) {
    const fsj_node *d = &doc->nodes[c];
    if (d->type != FSJ_INT || d->integer < 0)
      return bad(b, "tensor \"%s\": shape has a non-integer or negative dimension", name);
    t->shape[r] = d->integer;
  }
  if (!offsets || offsets->type != FSJ_ARRAY || offsets->count != 2)
    return bad(b, "tensor \"%s\": %s data_offsets", name,
               offsets ? "malformed (want [begin, end])" : "missing");
  const fsj_node *o0 = &doc->nodes[offsets->first], *o1 = &doc->nodes[o0->next];
  if (o0->type != FSJ_INT || o1->type != FSJ_INT || o0->integer < 0 || o1->integer < o0->integer)
    return bad(b, "tensor \"%s\": data_offsets are not [begin, end] with 0 <= begin <= end", name);
  t->begin = (uint64_t)o0->integer;
  t->end = (uint64_t)o1->integer;
  uint64_t nbytes;
  if (!sc_tensor_nbytes(t->dtype, t->rank, t->shape, &nbytes))
    return bad(b, "tensor \"%s\": shape is too large", name);
  if (nbytes != t->end - t->begin)
    return bad(b,
               "tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] hold %" PRIu64
               " bytes but dtype and shape make %" PRIu64,
               name, t->begin, t->end, t->end - t->begin, nbytes);
  t->name = name;
  return true;
}

static bool parse_hex32(const char *s, uint32_t *out) {
  if (strlen(s) != 8) return false;
  uint32_t v = 0;
  for (int i = 0; i < 8; i++) {
    char c = s[i];
    int h = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
          : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
    if (h < 0) return false;
    v = v << 4 | (uint32_t)h;
  }
  *out = v;
  return true;
}

/* Builds *out from the header text; false with b->bad set on a problem. */
static bool build_header(header_builder *b, const char *text, size_t text_len,
                         uint64_t data_len, fs_header *h) {
  fsj_doc doc;
  bool ok = false;
  fsj_doc order_doc;
  bool have_order_doc = false;
  name_index *sorted = NULL;
  offset_index *offs = NULL;
  bool *placed = NULL;
  if (!fsj_parse(&doc, text, text_len)) {
    bad(b, "header: %s", doc.error);
    goto out;
  }
  b->doc = &doc;
  const fsj_node *root = &doc.nodes[0];
  if (root->type != FSJ_OBJECT) {
    bad(b, "header is not a JSON object");
    goto out;
  }
  const fsj_node *meta = NULL;
  size_t count = 0;
  for (size_t c = root->first; c != FSJ_NONE; c = doc.nodes[c].next) {
    if (strcmp(doc.nodes[c].key, "__metadata__") == 0) meta = &doc.nodes[c];
    else count++;
  }
  if (!meta) {
    bad(b, "header has no __metadata__");
    goto out;
  }
  if (meta->type != FSJ_OBJECT) {
    bad(b, "__metadata__ is not an object");
    goto out;
  }
  fs_tensor *t = (fs_tensor *)calloc(count ? count : 1, sizeof *t);
  sorted = (name_index *)malloc((count ? count : 1) * sizeof *sorted);
  offs = (offset_index *)malloc((count ? count : 1) * sizeof *offs);
  placed = (bool *)calloc(count ? count : 1, sizeof *placed);
  b->tmp = t;
  if (!t || !sorted || !offs || !placed) {
    bad(b, "out of memory");
    goto out;
  }
  size_t i = 0;
  for (size_t c = root->first; c != FSJ_NONE; c = doc.nodes[c].next) {
    if (&doc.nodes[c] == meta) continue;
    if (!read_tensor_entry(b, &doc.nodes[c], &t[i])) goto out;
    t[i].crc_file_offset = UINT64_MAX;
    sorted[i] = (name_index){t[i].name, i};
    offs[i] = (offset_index){t[i].begin, t[i].end, i};
    i++;
  }
  qsort(sorted, count, sizeof *sorted, cmp_name_index); /* names are unique (JSON keys) */

  /* data_offsets: in range, no overlap, no gap, covering the data section exactly */
  qsort(offs, count, sizeof *offs, cmp_offset_index);
  uint64_t cursor = 0;
  for (i = 0; i < count; i++) {
    const fs_tensor *x = &t[offs[i].index];
    if (x->end > data_len) {
      bad(b, "tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64
          "] are out of range (the data section has %" PRIu64 " bytes)",
          x->name, x->begin, x->end, data_len);
      goto out;
    }
    if (x->begin < cursor) {
      bad(b, "tensor \"%s\": data_offsets [%" PRIu64 ", %" PRIu64 "] overlap another tensor",
          x->name, x->begin, x->end);
      goto out;
    }
    if (x->begin > cursor) {
      bad(b, "tensor \"%s\": data_offsets leave a gap of %" PRIu64 " bytes before it",
          x->name, x->begin - cursor);
      goto out;
    }
    cursor = x->end;
  }
  if (cursor != data_len) {
    bad(b, "the data section has %" PRIu64 " bytes but the tensors cover %" PRIu64, data_len,
        cursor);
    goto out;
  }

  /* __metadata__ */
  const char *format = NULL, *version = NULL, *algorithm = NULL, *order = NULL;
  for (size_t c = meta->first; c != FSJ_NONE; c = doc.nodes[c].next) {
    const fsj_node *m = &doc.nodes[c];
    if (m->type != FSJ_STRING) {
      bad(b, "__metadata__ value for \"%s\" is not a string", m->key);
      goto out;
    }
    if (strcmp(m->key, "format") == 0) format = m->str;
    else if (strcmp(m->key, "version") == 0) version = m->str;
    else if (strcmp(m->key, "checksum_algorithm") == 0) algorithm = m->str;
    else if (strcmp(m->key, "order") == 0) order = m->str;
    else if (strncmp(m->key, "checksum.", 9) == 0) {
      name_index key = {m->key + 9, 0};
      name_index *hit = (name_index *)bsearch(&key, sorted, count, sizeof *sorted, cmp_name_index);
      if (!hit) {
        bad(b, "__metadata__ has a checksum for \"%s\", which is not a tensor", m->key + 9);
        goto out;
      }
      if (!parse_hex32(m->str, &t[hit->index].crc)) {
        bad(b, "tensor \"%s\": checksum \"%s\" is not 8 hex digits", key.name, m->str);
        goto out;
      }
      t[hit->index].crc_file_offset = 8 + (uint64_t)m->offset + 1;
    }
  }
  if (!format || strcmp(format, "rlax") != 0) {
    bad(b, "__metadata__ format is %s%s%s, not \"rlax\"", format ? "\"" : "",
        format ? format : "missing", format ? "\"" : "");
    goto out;
  }
  uint64_t meta_version;
  if (!version || !sc_parse_u64(version, &meta_version) || meta_version != b->version) {
    bad(b, "__metadata__ version is %s%s%s, but the directory is version %" PRIu64,
        version ? "\"" : "", version ? version : "missing", version ? "\"" : "", b->version);
    goto out;
  }
  if (!algorithm || strcmp(algorithm, "crc32c") != 0) {
    bad(b, "__metadata__ checksum_algorithm is %s, not \"crc32c\"",
        algorithm ? algorithm : "missing");
    goto out;
  }
  for (i = 0; i < count; i++)
    if (t[i].crc_file_offset == UINT64_MAX) {
      bad(b, "tensor \"%s\" has no checksum in __metadata__", t[i].name);
      goto out;
    }
  if (!order) {
    bad(b, "__metadata__ has no order");
    goto out;
  }
  have_order_doc = true;
  if (!fsj_parse(&order_doc, order, strlen(order))) {
    bad(b, "__metadata__ order: %s", order_doc.error);
    goto out;
  }
  const fsj_node *list = &order_doc.nodes[0];
  if (list->type != FSJ_ARRAY || list->count != count) {
    bad(b, "__metadata__ order is not an array of the %zu tensor names", count);
    goto out;
  }

  /* Everything checks out: build the header in publish order. */
  size_t names_bytes = 0;
  for (i = 0; i < count; i++) names_bytes += strlen(t[i].name) + 1;
  h->tensors = (fs_tensor *)malloc((count ? count : 1) * sizeof *h->tensors);
  h->by_name = (size_t *)malloc((count ? count : 1) * sizeof *h->by_name);
  h->names = (char *)malloc(names_bytes ? names_bytes : 1);
  if (!h->tensors || !h->by_name || !h->names) {
    bad(b, "out of memory");
    goto out;
  }
  char *np = h->names;
  i = 0;
  for (size_t c = list->first; c != FSJ_NONE; c = order_doc.nodes[c].next, i++) {
    const fsj_node *e = &order_doc.nodes[c];
    if (e->type != FSJ_STRING) {
      bad(b, "__metadata__ order has a non-string element");
      goto out;
    }
    name_index key = {e->str, 0};
    name_index *hit = (name_index *)bsearch(&key, sorted, count, sizeof *sorted, cmp_name_index);
    if (!hit) {
      bad(b, "__metadata__ order names \"%s\", which is not a tensor", e->str);
      goto out;
    }
    if (placed[hit->index]) {
      bad(b, "__metadata__ order names \"%s\" twice", e->str);
      goto out;
    }
    placed[hit->index] = true;
    h->tensors[i] = t[hit->index];
    size_t len = strlen(e->str) + 1;
    memcpy(np, e->str, len);
    h->tensors[i].name = np;
    np += len;
  }
  /* by_name: the sorted order maps document indices; redo it for publish order */
  for (i = 0; i < count; i++) sorted[i] = (name_index){h->tensors[i].name, i};
  qsort(sorted, count, sizeof *sorted, cmp_name_index);
  for (i = 0; i < count; i++) h->by_name[i] = sorted[i].index;
  h->count = count;
  ok = true;
out:
  if (have_order_doc) fsj_free(&order_doc);
  fsj_free(&doc);
  free(b->tmp);
  b->tmp = NULL;
  free(sorted);
  free(offs);
  free(placed);
  return ok;
}

/* Reads and checks the header of an open version file. */
static rlax_error *read_header(const char *path, int fd, const struct stat *st, uint64_t version,
                               fs_header **out) {
  *out = NULL;
  uint64_t size = (uint64_t)st->st_size;
  if (size < 8)
    return fs_error(RLAX_ERROR_CORRUPT,
                    STORE ": %s: bad header length: the file has only %" PRIu64 " bytes", path,
                    size);
  unsigned char len8[8];
  int r = pread_all(fd, len8, 8, 0);
  if (r < 0) return io_error("cannot read", path, errno);
  if (r == 0) return fs_error(RLAX_ERROR_CORRUPT, STORE ": %s: file ends inside the header length", path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | len8[i];
  if (n < 2 || n > MAX_HEADER_LEN)
    return fs_error(RLAX_ERROR_CORRUPT, STORE ": %s: bad header length %" PRIu64, path, n);
  if (n > size - 8)
    return fs_error(RLAX_ERROR_CORRUPT,
                    STORE ": %s: header of %" PRIu64 " bytes runs past the end of the file (%" PRIu64
                    " bytes)",
                    path, n, size);
  char *text = (char *)malloc((size_t)n);
  fs_header *h = (fs_header *)calloc(1, sizeof *h);
  if (!text || !h) {
    free(text);
    free(h);
    return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory reading %s", path);
  }
  r = pread_all(fd, text, (size_t)n, 8);
  if (r <= 0) {
    int err = errno;
    free(text);
    free(h);
    return r < 0 ? io_error("cannot read", path, err)
                 : fs_error(RLAX_ERROR_CORRUPT, STORE ": %s: file ends inside the header", path);
  }
  header_builder b = {.path = path, .version = version};
  bool ok = build_header(&b, text, (size_t)n, size - 8 - n, h);
  free(text);
  if (!ok) {
    header_free(h);
    if (strcmp(b.bad, "out of memory") == 0)
      return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory reading %s", path);
    return fs_error(RLAX_ERROR_CORRUPT, STORE ": %s: %s", path, b.bad);
  }
  atomic_init(&h->refs, 1);
  h->version = version;
  h->dev = st->st_dev;
  h->ino = st->st_ino;
  h->size = st->st_size;
  h->mtime = st->st_mtim;
  h->data_start = 8 + n;
  *out = h;
  return NULL;
}

static bool header_matches(const fs_header *h, uint64_t version, const struct stat *st) {
  return h->version == version && h->dev == st->st_dev && h->ino == st->st_ino &&
         h->size == st->st_size && h->mtime.tv_sec == st->st_mtim.tv_sec &&
         h->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* A reference to the checked header of an open version file, from the cache when it can. */
static rlax_error *get_header(rlax_weight_store *s, const char *path, int fd,
                              const struct stat *st, uint64_t version, fs_header **out) {
  pthread_mutex_lock(&s->cache_mu);
  for (int i = 0; i < CACHE_SLOTS; i++) {
    fs_header *h = s->cache[i];
    if (h && header_matches(h, version, st)) {
      atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
      s->cache_used[i] = ++s->cache_tick;
      pthread_mutex_unlock(&s->cache_mu);
      *out = h;
      return NULL;
    }
  }
  pthread_mutex_unlock(&s->cache_mu);

  fs_header *h;
  rlax_error *e = read_header(path, fd, st, version, &h);
  if (e) return e;

  fs_header *evicted = NULL;
  pthread_mutex_lock(&s->cache_mu);
  int slot = -1;
  for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
    if (s->cache[i] && s->cache[i]->version == version) slot = i; /* a stale entry */
  for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
    if (!s->cache[i]) slot = i;
  if (slot < 0) {
    slot = 0;
    for (int i = 1; i < CACHE_SLOTS; i++)
      if (s->cache_used[i] < s->cache_used[slot]) slot = i;
  }
  evicted = s->cache[slot];
  s->cache[slot] = h;
  s->cache_used[slot] = ++s->cache_tick;
  atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed); /* the caller's */
  pthread_mutex_unlock(&s->cache_mu);
  header_release(evicted);
  *out = h;
  return NULL;
}

static void cache_forget(rlax_weight_store *s, uint64_t version) {
  fs_header *gone[CACHE_SLOTS];
  int n = 0;
  pthread_mutex_lock(&s->cache_mu);
  for (int i = 0; i < CACHE_SLOTS; i++)
    if (s->cache[i] && s->cache[i]->version == version) {
      gone[n++] = s->cache[i];
      s->cache[i] = NULL;
    }
  pthread_mutex_unlock(&s->cache_mu);
  for (int i = 0; i < n; i++) header_release(gone[i]);
}

/* Opens a version's file. NOT_FOUND when the version is not there. */
static rlax_error *open_version(rlax_weight_store *s, uint64_t version, int flags, char *path,
                                size_t path_size, int *fd_out, struct stat *st) {
  char name[32];
  version_dir_name(name, sizeof name, version);
  snprintf(path, path_size, "%s/%s/" DATA_FILE, s->dir, name);
  int fd = open(path, flags | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      char vdir[PATH_MAX];
      struct stat dst;
      snprintf(vdir, sizeof vdir, "%s/%s", s->dir, name);
      if (stat(vdir, &dst) == 0 && S_ISDIR(dst.st_mode))
        return fs_error(RLAX_ERROR_CORRUPT, STORE ": version %" PRIu64 ": %s is missing",
                        version, path);
      return fs_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " is not in %s",
                      version, s->dir);
    }
    return io_error("cannot open", path, err);
  }
  if (fstat(fd, st) != 0) {
    int err = errno;
    close(fd);
    return io_error("cannot stat", path, err);
  }
  *fd_out = fd;
  return NULL;
}

/* Opens the version and returns its header (the file is closed again). */
static rlax_error *version_header(rlax_weight_store *s, uint64_t version, fs_header **out) {
  char path[PATH_MAX];
  int fd;
  struct stat st;
  rlax_error *e = open_version(s, version, O_RDONLY, path, sizeof path, &fd, &st);
  if (e) return e;
  e = get_header(s, path, fd, &st, version, out);
  close(fd);
  return e;
}

/* ---------------------------------------------------------------------------------------- */
/* The table                                                                                 */

static rlax_error *fs_create(const rlax_weight_store_create_args *args,
                             rlax_weight_store **out) {
  if (!out) return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": create: out is NULL");
  *out = NULL;
  static const char *const known[] = {"dir", "keep"};
  const char *values[2];
  rlax_error *e = sc_parse_options(STORE, args, known, 2, values);
  if (e) return e;
  size_t keep;
  if ((e = sc_parse_keep(STORE, values[1], &keep))) return e;
  if (!values[0])
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": option dir=PATH is required");
  if (!values[0][0])
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": invalid value \"\" for option dir");
  if ((e = make_dirs(values[0]))) return e;
  char *dir = realpath(values[0], NULL);
  if (!dir) return io_error("cannot resolve directory", values[0], errno);
  if (strlen(dir) + 96 > PATH_MAX) {
    free(dir);
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": invalid value \"%s\" for option dir: path is too long",
                    values[0]);
  }
  if (access(dir, R_OK | X_OK) != 0) {
    e = io_error("cannot use directory", dir, errno);
    free(dir);
    return e;
  }
  rlax_weight_store *s = (rlax_weight_store *)calloc(1, sizeof *s);
  if (!s) {
    free(dir);
    return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory");
  }
  s->dir = dir;
  s->keep = keep;
  int rc = pthread_mutex_init(&s->publish_mu, NULL);
  if (rc == 0 && (rc = pthread_mutex_init(&s->mu, NULL)) != 0) pthread_mutex_destroy(&s->publish_mu);
  if (rc == 0 && (rc = pthread_mutex_init(&s->cache_mu, NULL)) != 0) {
    pthread_mutex_destroy(&s->publish_mu);
    pthread_mutex_destroy(&s->mu);
  }
  if (rc == 0 && (rc = sc_cond_init_monotonic(&s->cv)) != 0) {
    pthread_mutex_destroy(&s->publish_mu);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->cache_mu);
  }
  if (rc != 0) {
    free(dir);
    free(s);
    return fs_error(RLAX_ERROR_INTERNAL, STORE ": cannot initialise locks");
  }
  sc_crc32c_init();
  *out = s;
  return NULL;
}

static void fs_destroy(rlax_weight_store *s) {
  if (!s) return;
  for (int i = 0; i < CACHE_SLOTS; i++) header_release(s->cache[i]);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->cache_mu);
  pthread_mutex_destroy(&s->mu);
  pthread_mutex_destroy(&s->publish_mu);
  free(s->dir);
  free(s);
}

/* Builds the safetensors header (padded) for the tensors. */
static rlax_error *build_header_text(uint64_t version, const rlax_tensor_data *const *tensors,
                                     size_t count, fsj_buf *out) {
  fsj_buf order = {0};
  fsj_buf_puts(&order, "[");
  for (size_t i = 0; i < count; i++) {
    if (i) fsj_buf_puts(&order, ",");
    fsj_buf_string(&order, tensors[i]->name, strlen(tensors[i]->name));
  }
  fsj_buf_puts(&order, "]");

  fsj_buf_printf(out, "{\"__metadata__\":{\"format\":\"rlax\",\"version\":\"%" PRIu64
                      "\",\"checksum_algorithm\":\"crc32c\",\"order\":",
                 version);
  fsj_buf_string(out, order.data ? order.data : "", order.len);
  fsj_buf_free(&order);
  for (size_t i = 0; i < count; i++) {
    const rlax_tensor_data *t = tensors[i];
    char key[RLAX_MAX_TENSOR_NAME + 16];
    int k = snprintf(key, sizeof key, "checksum.%s", t->name);
    fsj_buf_puts(out, ",");
    fsj_buf_string(out, key, (size_t)k);
    uint32_t crc = t->nbytes ? sc_crc32c(t->data, (size_t)t->nbytes) : sc_crc32c(NULL, 0);
    fsj_buf_printf(out, ":\"%08" PRIx32 "\"", crc);
  }
  fsj_buf_puts(out, "}");
  uint64_t offset = 0;
  for (size_t i = 0; i < count; i++) {
    const rlax_tensor_data *t = tensors[i];
    fsj_buf_puts(out, ",");
    fsj_buf_string(out, t->name, strlen(t->name));
    fsj_buf_printf(out, ":{\"dtype\":\"%s\",\"shape\":[", sc_dtype_name(t->dtype));
    for (int32_t d = 0; d < t->rank; d++) fsj_buf_printf(out, "%s%" PRId64, d ? "," : "", t->shape[d]);
    fsj_buf_printf(out, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", offset,
                   offset + t->nbytes);
    offset += t->nbytes;
  }
  fsj_buf_puts(out, "}");
  while (!out->failed && out->len % 8 != 0) fsj_buf_puts(out, " ");
  if (out->failed)
    return fs_error(RLAX_ERROR_OUT_OF_MEMORY, STORE ": out of memory building the header of version %" PRIu64, version);
  if (out->len > MAX_HEADER_LEN)
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT,
                    STORE ": the header of version %" PRIu64 " would be %zu bytes, more than "
                          "safetensors allows (%llu)",
                    version, out->len, MAX_HEADER_LEN);
  return NULL;
}

/* Removes .trash- entries left behind (by us or a publisher that died). */
static void purge_trash(const rlax_weight_store *s) {
  DIR *d = opendir(s->dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, ".trash-", 7) == 0) remove_tree_at(dirfd(d), e->d_name, 0);
  closedir(d);
}

static void apply_retention(rlax_weight_store *s) {
  uint64_t *v;
  size_t n;
  rlax_error *e = scan_versions(s, &v, &n);
  if (e) {
    fs_error_destroy(e);
    return;
  }
  for (size_t i = 0; i + s->keep < n; i++) {
    char from[PATH_MAX], to[PATH_MAX], name[32];
    version_dir_name(name, sizeof name, v[i]);
    snprintf(from, sizeof from, "%s/%s", s->dir, name);
    snprintf(to, sizeof to, "%s/.trash-%s-%ld-%016" PRIx64, s->dir, name, (long)getpid(),
             random_u64());
    if (rename(from, to) == 0) remove_tree(to);
    cache_forget(s, v[i]);
  }
  free(v);
  purge_trash(s);
}

static rlax_error *fs_publish(rlax_weight_store *s, uint64_t version,
                              const rlax_tensor_data *const *tensors, size_t count) {
  if (!s) return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": publish: store is NULL");
  uint64_t latest;
  rlax_error *e = sc_check_publish_version(STORE, version, 0);
  if (e) return e;
  if ((e = scan_latest(s, &latest))) return e;
  if ((e = sc_check_publish_version(STORE, version, latest))) return e;
  if ((e = sc_validate_tensors(STORE, version, tensors, count, true))) return e;

  fsj_buf header = {0};
  if ((e = build_header_text(version, tensors, count, &header))) {
    fsj_buf_free(&header);
    return e;
  }

  char name[32], tmp[PATH_MAX], file[PATH_MAX + 32], final[PATH_MAX];
  version_dir_name(name, sizeof name, version);
  snprintf(final, sizeof final, "%s/%s", s->dir, name);
  int tries = 0;
  for (;;) {
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld-%016" PRIx64, s->dir, name, (long)getpid(),
             random_u64());
    if (mkdir(tmp, 0777) == 0) break;
    if (errno != EEXIST || ++tries > 100) {
      e = io_error("cannot create directory", tmp, errno);
      fsj_buf_free(&header);
      return e;
    }
  }
  snprintf(file, sizeof file, "%s/" DATA_FILE, tmp);
  int fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    e = io_error("cannot create", file, errno);
    goto fail;
  }
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)header.len >> (8 * i));
  bool ok = write_all(fd, len8, 8) && write_all(fd, header.data, header.len);
  for (size_t i = 0; ok && i < count; i++)
    if (tensors[i]->nbytes) ok = write_all(fd, tensors[i]->data, tensors[i]->nbytes);
  if (!ok) {
    e = io_error("cannot write", file, errno);
    close(fd);
    goto fail;
  }
  if (fsync(fd) != 0) {
    e = io_error("cannot fsync", file, errno);
    close(fd);
    goto fail;
  }
  if (close(fd) != 0) {
    e = io_error("cannot close", file, errno);
    goto fail;
  }
  if (fsync_path(tmp) != 0) {
    e = io_error("cannot fsync", tmp, errno);
    goto fail;
  }

  /* Commit: rename the complete directory into place. */
  pthread_mutex_lock(&s->publish_mu);
  if ((e = scan_latest(s, &latest)) == NULL) e = sc_check_publish_version(STORE, version, latest);
  if (e) {
    pthread_mutex_unlock(&s->publish_mu);
    goto fail;
  }
#ifdef RENAME_NOREPLACE
  int rc = renameat2(AT_FDCWD, tmp, AT_FDCWD, final, RENAME_NOREPLACE);
  if (rc != 0 && (errno == EINVAL || errno == ENOSYS || errno == ENOTSUP)) rc = rename(tmp, final);
#else
  int rc = rename(tmp, final); /* fails on a non-empty existing directory */
#endif
  if (rc != 0) {
    int err = errno;
    pthread_mutex_unlock(&s->publish_mu);
    if (err == EEXIST || err == ENOTEMPTY)
      e = fs_error(RLAX_ERROR_INVALID_ARGUMENT,
                   STORE ": cannot publish version %" PRIu64 ": %s already exists", version, final);
    else
      e = fs_error(RLAX_ERROR_IO, STORE ": cannot rename %s to %s: %s", tmp, final, strerror(err));
    goto fail;
  }
  int sync_err = fsync_path(s->dir) != 0 ? errno : 0;
  apply_retention(s);
  pthread_mutex_unlock(&s->publish_mu);

  pthread_mutex_lock(&s->mu);
  s->published++;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  fsj_buf_free(&header);
  if (sync_err) /* the version is visible; only its durability is in doubt */
    return io_error("published, but cannot fsync", s->dir, sync_err);
  return NULL;

fail:
  remove_tree(tmp);
  fsj_buf_free(&header);
  return e;
}

static rlax_error *fs_latest(rlax_weight_store *s, uint64_t *out) {
  if (!s || !out) return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": latest: NULL argument");
  return scan_latest(s, out);
}

static rlax_error *fs_list_versions(rlax_weight_store *s, uint64_t *versions, size_t capacity,
                                    size_t *out_count) {
  if (!s || !out_count || (capacity > 0 && !versions))
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": list_versions: NULL argument");
  uint64_t *v;
  size_t n;
  rlax_error *e = scan_versions(s, &v, &n);
  if (e) return e;
  for (size_t i = 0; i < n && i < capacity; i++) versions[i] = v[i];
  *out_count = n;
  free(v);
  return NULL;
}

static rlax_error *fs_tensor_count(rlax_weight_store *s, uint64_t version, size_t *out_count) {
  if (!s || !out_count)
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": tensor_count: NULL argument");
  fs_header *h;
  rlax_error *e = version_header(s, version, &h);
  if (e) return e;
  *out_count = h->count;
  header_release(h);
  return NULL;
}

static rlax_error *fs_tensor_info(rlax_weight_store *s, uint64_t version, size_t index,
                                  rlax_tensor_info *out) {
  if (!s || !out)
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": tensor_info: NULL argument");
  fs_header *h;
  rlax_error *e = version_header(s, version, &h);
  if (e) return e;
  if (index >= h->count) {
    e = fs_error(RLAX_ERROR_INVALID_ARGUMENT,
                 STORE ": tensor index %zu is out of range: version %" PRIu64 " has %zu tensors",
                 index, version, h->count);
  } else {
    const fs_tensor *t = &h->tensors[index];
    sc_fill_info(out, t->name, t->dtype, t->rank, t->shape, t->end - t->begin);
  }
  header_release(h);
  return e;
}

static rlax_error *fs_fetch(rlax_weight_store *s, uint64_t version,
                            const rlax_fetch_request *const *requests, size_t count) {
  if (!s) return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": fetch: store is NULL");
  rlax_error *e = sc_validate_requests(STORE, version, requests, count);
  if (e) return e;
  char path[PATH_MAX];
  int fd;
  struct stat st;
  if ((e = open_version(s, version, O_RDONLY, path, sizeof path, &fd, &st))) return e;
  fs_header *h;
  if ((e = get_header(s, path, fd, &st, version, &h))) {
    close(fd);
    return e;
  }
  for (size_t i = 0; i < count && !e; i++) {
    const rlax_fetch_request *r = requests[i];
    size_t k = header_find(h, r->name);
    if (k == SIZE_MAX)
      e = fs_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " has no tensor \"%s\"",
                   version, r->name);
    else if (h->tensors[k].end - h->tensors[k].begin != r->nbytes)
      e = fs_error(RLAX_ERROR_INVALID_ARGUMENT,
                   STORE ": fetch of tensor \"%s\" of version %" PRIu64 ": request has %" PRIu64
                   " bytes but the tensor has %" PRIu64,
                   r->name, version, r->nbytes, h->tensors[k].end - h->tensors[k].begin);
  }
  for (size_t i = 0; i < count && !e; i++) {
    const rlax_fetch_request *r = requests[i];
    const fs_tensor *t = &h->tensors[header_find(h, r->name)];
    uint64_t off = h->data_start + t->begin, left = r->nbytes;
    unsigned char *dst = (unsigned char *)r->data;
    uint32_t crc = 0;
    while (left > 0 && !e) {
      size_t k = left < IO_PIECE ? (size_t)left : IO_PIECE;
      int rr = pread_all(fd, dst, k, off);
      if (rr < 0) e = io_error("cannot read", path, errno);
      else if (rr == 0)
        e = fs_error(RLAX_ERROR_CORRUPT, STORE ": %s: file ends inside tensor \"%s\"", path,
                     r->name);
      else {
        crc = sc_crc32c_update(crc, dst, k);
        dst += k;
        off += k;
        left -= k;
      }
    }
    if (!e && crc != t->crc)
      e = fs_error(RLAX_ERROR_CORRUPT,
                   STORE ": checksum mismatch in tensor \"%s\" of version %" PRIu64
                   " (%s): expected crc32c %08" PRIx32 ", found %08" PRIx32,
                   r->name, version, path, t->crc, crc);
  }
  header_release(h);
  close(fd);
  return e;
}

static rlax_error *fs_wait_newer(rlax_weight_store *s, uint64_t after, int64_t timeout_ms,
                                 uint64_t *out) {
  if (!s || !out) return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": wait_newer: NULL argument");
  *out = 0;
  struct timespec deadline = {0, 0};
  if (timeout_ms > 0) deadline = sc_deadline_after_ms(timeout_ms);
  for (;;) {
    pthread_mutex_lock(&s->mu);
    uint64_t seen = s->published;
    pthread_mutex_unlock(&s->mu);
    uint64_t latest;
    rlax_error *e = scan_latest(s, &latest);
    if (e) return e;
    if (latest > after) {
      *out = latest;
      return NULL;
    }
    if (timeout_ms == 0) return NULL;
    struct timespec until = sc_deadline_after_ms(POLL_MS);
    if (timeout_ms > 0) {
      struct timespec now;
      clock_gettime(CLOCK_MONOTONIC, &now);
      if (sc_timespec_cmp(now, deadline) >= 0) return NULL;
      if (sc_timespec_cmp(deadline, until) < 0) until = deadline;
    }
    pthread_mutex_lock(&s->mu);
    while (s->published == seen) {
      if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
    }
    pthread_mutex_unlock(&s->mu);
  }
}

static rlax_error *fs_corrupt_for_testing(rlax_weight_store *s, uint64_t version,
                                          const char *tensor_name) {
  if (!s || !tensor_name)
    return fs_error(RLAX_ERROR_INVALID_ARGUMENT, STORE ": corrupt_for_testing: NULL argument");
  char path[PATH_MAX];
  int fd;
  struct stat st;
  rlax_error *e = open_version(s, version, O_RDWR, path, sizeof path, &fd, &st);
  if (e) return e;
  fs_header *h;
  if ((e = get_header(s, path, fd, &st, version, &h))) {
    close(fd);
    return e;
  }
  size_t k = header_find(h, tensor_name);
  if (k == SIZE_MAX) {
    e = fs_error(RLAX_ERROR_NOT_FOUND, STORE ": version %" PRIu64 " has no tensor \"%s\"",
                 version, tensor_name);
  } else {
    const fs_tensor *t = &h->tensors[k];
    uint64_t nbytes = t->end - t->begin;
    uint64_t off = nbytes ? h->data_start + t->begin + nbytes / 2 : t->crc_file_offset;
    unsigned char c;
    if (pread_all(fd, &c, 1, off) != 1) {
      e = io_error("cannot read", path, errno ? errno : EIO);
    } else {
      if (nbytes) c ^= 0x5A;
      else c = c == '0' ? '1' : '0'; /* another hex digit: the header stays valid JSON */
      if (pwrite(fd, &c, 1, (off_t)off) != 1 || fsync(fd) != 0)
        e = io_error("cannot write", path, errno);
    }
  }
  header_release(h);
  close(fd);
  cache_forget(s, version); /* the file's mtime may not have moved */
  return e;
}

/* ---------------------------------------------------------------------------------------- */

static const rlax_weight_store_api k_api = {
    .struct_size = sizeof(rlax_weight_store_api),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .error_code = fs_error_code,
    .error_message = fs_error_message,
    .error_destroy = fs_error_destroy,
    .create = fs_create,
    .destroy = fs_destroy,
    .publish = fs_publish,
    .latest = fs_latest,
    .list_versions = fs_list_versions,
    .tensor_count = fs_tensor_count,
    .tensor_info = fs_tensor_info,
    .fetch = fs_fetch,
    .wait_newer = fs_wait_newer,
    .corrupt_for_testing = fs_corrupt_for_testing,
};

static const rlax_manifest k_manifest = {
    .struct_size = sizeof(rlax_manifest),
    .abi_major = RLAX_ABI_MAJOR,
    .abi_minor = RLAX_ABI_MINOR,
    .name = "file",
    .version = "0.1.0",
    .description = "weight store in a directory of safetensors versions, CRC-32C checked",
    .kinds = RLAX_KIND_WEIGHT_STORE,
};

RLAX_EXPORT const rlax_manifest *rlax_plugin_manifest(void) { return &k_manifest; }

RLAX_EXPORT const rlax_weight_store_api *rlax_get_weight_store_api(
    const rlax_host_services *services) {
  if (!rlax_host_is_compatible(services, "file")) return NULL;
  return &k_api;
}
