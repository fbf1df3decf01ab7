/*
 * rlax/common.h — what every rlax plugin kind shares: versions, errors, dtypes,
 * options, the manifest and the services table the host hands a plugin.
 *
 * Versioning (after the PJRT C API):
 *   - RLAX_ABI_MAJOR changes only when an existing field or function changes meaning.
 *     The host refuses a plugin whose major differs; a plugin refuses a host whose major
 *     differs (its get-api entry returns NULL after logging why through the services table).
 *   - RLAX_ABI_MINOR grows when fields are appended. Every table and every argument struct
 *     begins with `size_t struct_size`, set by whoever fills it in to sizeof() of the struct
 *     as that side was compiled. A reader touches a field only where struct_size covers it
 *     (RLAX_STRUCT_HAS_FIELD). Fields are only ever appended, never reordered or removed.
 *   - In a function table a NULL pointer means "not supported".
 *
 * Errors: a function that can fail returns `rlax_error*`; NULL means success. The error is
 * allocated by the plugin and destroyed by the host with the `error_destroy` of the table that
 * returned it. Nothing is ever freed across the boundary with free().
 *
 * Strings handed to the host (messages, names) are owned by the plugin and stay valid for the
 * lifetime stated next to each function; the host copies what it keeps.
 */
#ifndef RLAX_COMMON_H
#define RLAX_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RLAX_ABI_MAJOR 1
#define RLAX_ABI_MINOR 0

/* Marks a plugin's entry symbols. Build plugins with -fvisibility=hidden so that only
 * these are exported. */
#if defined(_WIN32)
#define RLAX_EXPORT __declspec(dllexport)
#else
#define RLAX_EXPORT __attribute__((visibility("default")))
#endif

/* True when a struct whose struct_size is `s` covers `field` of `type`. */
#define RLAX_STRUCT_HAS_FIELD(type, s, field) \
  ((size_t)(s) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---------------------------------------------------------------------------------------- */
/* Errors                                                                                    */

typedef enum rlax_error_code {
  RLAX_OK = 0,
  RLAX_ERROR_INVALID_ARGUMENT = 1, /* bad shape, dtype, option, version number ... */
  RLAX_ERROR_OUT_OF_MEMORY = 2,    /* host or device memory exhausted */
  RLAX_ERROR_UNIMPLEMENTED = 3,    /* a valid request this plugin does not support */
  RLAX_ERROR_UNAVAILABLE = 4,      /* the device or service is not there (try elsewhere) */
  RLAX_ERROR_PREEMPTED = 5,        /* the device was taken away; redo the work */
  RLAX_ERROR_NOT_FOUND = 6,        /* no such version, tensor, file */
  RLAX_ERROR_CORRUPT = 7,          /* a checksum or a format check failed */
  RLAX_ERROR_IO = 8,               /* the operating system refused a read or a write */
  RLAX_ERROR_INTERNAL = 9          /* a bug in the plugin */
} rlax_error_code;

/* Opaque; made by a plugin, destroyed by the host through the table that returned it. */
typedef struct rlax_error rlax_error;

/* ---------------------------------------------------------------------------------------- */
/* Data types                                                                                */

typedef enum rlax_dtype {
  RLAX_DTYPE_INVALID = 0,
  RLAX_DTYPE_F32 = 1,
  RLAX_DTYPE_BF16 = 2,
  RLAX_DTYPE_F16 = 3,
  RLAX_DTYPE_I32 = 4,
  RLAX_DTYPE_I64 = 5,
  RLAX_DTYPE_U8 = 6,
  RLAX_DTYPE_F64 = 7
} rlax_dtype;

/* Bit for a dtype in a mask such as rlax_device_desc.dtypes. */
#define RLAX_DTYPE_BIT(d) (1u << (unsigned)(d))

/* ---------------------------------------------------------------------------------------- */
/* Options: key=value strings a user passes on the command line                             */
/* (--backend-opt k=v, --algo-opt k=v, --store-opt k=v).                                    */

typedef struct rlax_option {
  size_t struct_size;
  const char *key;   /* borrowed for the duration of the call */
  const char *value; /* borrowed for the duration of the call */
} rlax_option;

/* ---------------------------------------------------------------------------------------- */
/* Logging and the services table the host hands to a plugin                                */

typedef enum rlax_log_level {
  RLAX_LOG_DEBUG = 0,
  RLAX_LOG_INFO = 1,
  RLAX_LOG_WARNING = 2,
  RLAX_LOG_ERROR = 3
} rlax_log_level;

typedef struct rlax_host_services {
  size_t struct_size;
  uint32_t abi_major; /* the host's RLAX_ABI_MAJOR */
  uint32_t abi_minor; /* the host's RLAX_ABI_MINOR */
  void *host_context; /* pass back unchanged as the first argument of every service */
  /* Logs one line. Thread-safe; may be called from any thread at any time while the plugin
   * is loaded. `message` is borrowed for the call. May be NULL in an older host. */
  void (*log)(void *host_context, rlax_log_level level, const char *message);
} rlax_host_services;

/* ---------------------------------------------------------------------------------------- */
/* Manifest: every plugin exports `rlax_plugin_manifest`, callable before anything else.     */

typedef enum rlax_plugin_kind {
  RLAX_KIND_BACKEND = 1u << 0,
  RLAX_KIND_ALGORITHM = 1u << 1,
  RLAX_KIND_WEIGHT_STORE = 1u << 2
} rlax_plugin_kind;

typedef struct rlax_manifest {
  size_t struct_size;
  uint32_t abi_major;      /* RLAX_ABI_MAJOR the plugin was built against */
  uint32_t abi_minor;      /* RLAX_ABI_MINOR the plugin was built against */
  const char *name;        /* unique short name, [a-z0-9-]+, e.g. "cpu-blas" */
  const char *version;     /* the plugin's own version, e.g. "0.1.0" */
  const char *description; /* one line */
  uint32_t kinds;          /* bitwise OR of rlax_plugin_kind: which get-api entries exist */
} rlax_manifest;

/* The returned manifest and its strings are static: valid while the library is loaded.
 * Must not fail and must not allocate. */
typedef const rlax_manifest *(*rlax_plugin_manifest_fn)(void);
#define RLAX_MANIFEST_SYMBOL "rlax_plugin_manifest"

/* Every kind's function table begins with exactly these fields, so that the host can check
 * versions and destroy errors before it knows anything else about the table. */
typedef struct rlax_api_prefix {
  size_t struct_size;
  uint32_t abi_major;
  uint32_t abi_minor;
  rlax_error_code (*error_code)(const rlax_error *error);
  /* The message stays valid until error_destroy. Never NULL for a non-NULL error. */
  const char *(*error_message)(const rlax_error *error);
  /* Accepts NULL (does nothing). */
  void (*error_destroy)(rlax_error *error);
} rlax_api_prefix;

#ifdef __cplusplus
}
#endif
#endif /* RLAX_COMMON_H */
