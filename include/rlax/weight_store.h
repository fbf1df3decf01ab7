/*
 * rlax/weight_store.h — the weight-store plugin ABI.
 *
 * A weight store keeps immutable, numbered versions of a named set of tensors: the trainer
 * publishes, rollout workers fetch. Guarantees every store gives:
 *  - Atomic publish: a reader sees a version whole or not at all, never part of one.
 *  - Versions only grow: publish refuses a version <= the latest (INVALID_ARGUMENT).
 *  - Retention: the store keeps the last `keep` versions (option keep=N, default 3); older
 *    ones are removed after a newer one is published. Fetching a removed one is NOT_FOUND.
 *  - Corruption is detected: every tensor carries a checksum verified on fetch (CORRUPT).
 *
 * Entry symbol:   RLAX_EXPORT const rlax_weight_store_api *rlax_get_weight_store_api(
 *                     const rlax_host_services *services);
 * Returns a static table, or NULL when the host's ABI major differs (after logging why).
 *
 * Threading: every function may be called from any thread, concurrently, on one store
 * (one publisher with any number of readers and waiters).
 */
#ifndef RLAX_WEIGHT_STORE_H
#define RLAX_WEIGHT_STORE_H

#include "common.h"
#include "backend.h" /* RLAX_MAX_RANK */

#ifdef __cplusplus
extern "C" {
#endif

#define RLAX_MAX_TENSOR_NAME 256 /* bytes, including the terminating NUL */

typedef struct rlax_weight_store rlax_weight_store; /* opaque */

/* A tensor to publish. Borrowed for the call; the store copies what it keeps. */
typedef struct rlax_tensor_data {
  size_t struct_size;
  const char *name; /* unique within a version, < RLAX_MAX_TENSOR_NAME bytes */
  rlax_dtype dtype;
  int32_t rank;
  int64_t shape[RLAX_MAX_RANK];
  const void *data; /* contiguous, row-major */
  uint64_t nbytes;  /* must equal product(shape) * size of dtype */
} rlax_tensor_data;

/* What a version holds, one tensor at a time. Filled in by the plugin up to struct_size. */
typedef struct rlax_tensor_info {
  size_t struct_size;
  char name[RLAX_MAX_TENSOR_NAME];
  rlax_dtype dtype;
  int32_t rank;
  int64_t shape[RLAX_MAX_RANK];
  uint64_t nbytes;
} rlax_tensor_info;

/* Where fetch puts one tensor: nbytes must equal the tensor's size. */
typedef struct rlax_fetch_request {
  size_t struct_size;
  const char *name;
  void *data;
  uint64_t nbytes;
} rlax_fetch_request;

typedef struct rlax_weight_store_create_args {
  size_t struct_size;
  /* --store-opt key=value pairs (e.g. keep=3, dir=/path), borrowed for the call. An unknown
   * key is INVALID_ARGUMENT naming it. */
  const char *const *option_keys;
  const char *const *option_values;
  size_t num_options;
} rlax_weight_store_create_args;

typedef struct rlax_weight_store_api {
  /* -- the common prefix (rlax_api_prefix) -- */
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  rlax_error_code (*error_code)(const rlax_error *error);
  const char *(*error_message)(const rlax_error *error);
  void (*error_destroy)(rlax_error *error);

  rlax_error *(*create)(const rlax_weight_store_create_args *args, rlax_weight_store **out);
  /* Accepts NULL. No call may be in flight. */
  void (*destroy)(rlax_weight_store *store);

  /* Publishes tensors[0 .. count) as `version` (>= 1, > latest), atomically. count may be 0
   * (an empty version); `data` may be NULL where nbytes is 0. */
  rlax_error *(*publish)(rlax_weight_store *store, uint64_t version,
                         const rlax_tensor_data *const *tensors, size_t count);
  /* *out = the newest version, or 0 when there is none. */
  rlax_error *(*latest)(rlax_weight_store *store, uint64_t *out);
  /* Writes up to `capacity` retained versions, oldest first, into versions; *out_count = how
   * many are retained (may exceed capacity: call with capacity 0 to size the array). */
  rlax_error *(*list_versions)(rlax_weight_store *store, uint64_t *versions, size_t capacity,
                               size_t *out_count);
  /* *out_count = number of tensors in the version (NOT_FOUND if it is not retained). */
  rlax_error *(*tensor_count)(rlax_weight_store *store, uint64_t version, size_t *out_count);
  /* Describes tensor `index` (0-based, in publish order) of the version; an index past the
   * end is INVALID_ARGUMENT. */
  rlax_error *(*tensor_info)(rlax_weight_store *store, uint64_t version, size_t index,
                             rlax_tensor_info *out);
  /* Copies the named tensors of the version into caller memory, checking each checksum.
   * NOT_FOUND for a version or name it lacks; INVALID_ARGUMENT for a size mismatch; CORRUPT
   * when a checksum or the stored format is wrong. After an error the contents of the
   * destination buffers are unspecified. */
  rlax_error *(*fetch)(rlax_weight_store *store, uint64_t version,
                       const rlax_fetch_request *const *requests, size_t count);
  /* Waits until a version newer than `after` exists or timeout_ms passes (< 0: forever).
   * *out = the newest version if newer than `after`, else 0 (timed out). */
  rlax_error *(*wait_newer)(rlax_weight_store *store, uint64_t after, int64_t timeout_ms,
                            uint64_t *out);

  /* Optional, for conformance tests: damages the stored bytes (or, for a tensor of no bytes,
   * the stored checksum) of one tensor of a version so that the next fetch of it must report
   * CORRUPT. NULL when the store cannot do that. */
  rlax_error *(*corrupt_for_testing)(rlax_weight_store *store, uint64_t version,
                                     const char *tensor_name);
} rlax_weight_store_api;

#define RLAX_WEIGHT_STORE_API_MIN_SIZE \
  (offsetof(rlax_weight_store_api, wait_newer) + sizeof(void *))

typedef const rlax_weight_store_api *(*rlax_get_weight_store_api_fn)(
    const rlax_host_services *services);
#define RLAX_WEIGHT_STORE_ENTRY_SYMBOL "rlax_get_weight_store_api"

#ifdef __cplusplus
}
#endif
#endif /* RLAX_WEIGHT_STORE_H */
