/*
 * rlax/plugin_support.h — optional helpers for plugin authors, header-only (static inline), so
 * a plugin that uses them still depends on nothing of the host. Bundled plugins use them.
 *
 *   RLAX_DEFINE_ERRORS(prefix) defines the error type and the three error functions every
 *   table needs (prefix_error_code, prefix_error_message, prefix_error_destroy) plus
 *   prefix_error(code, fmt, ...) to make one.
 *   rlax_host_is_compatible(services, plugin_name) checks the host's ABI major and logs why not.
 */
#ifndef RLAX_PLUGIN_SUPPORT_H
#define RLAX_PLUGIN_SUPPORT_H

#include "common.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rlax_error {
  rlax_error_code code;
  bool is_static; /* the preallocated out-of-memory error: never freed */
  char message[];
};

/* Makes an error with a printf-style message. Returns a static out-of-memory error (which
 * destroy recognises and does not free) when even that allocation fails. */
static inline rlax_error *rlax_support_error_v(rlax_error_code code, const char *fmt, va_list ap) {
  static struct { rlax_error_code code; bool is_static; char message[32]; } oom = {
      RLAX_ERROR_OUT_OF_MEMORY, true, "out of memory making an error"};
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0) n = 0;
  rlax_error *e = (rlax_error *)malloc(sizeof(rlax_error) + (size_t)n + 1);
  if (!e) return (rlax_error *)&oom;
  e->code = code;
  e->is_static = false;
  vsnprintf(e->message, (size_t)n + 1, fmt, ap);
  return e;
}

static inline bool rlax_support_error_is_static(const rlax_error *e) {
  return e && e->is_static;
}

#define RLAX_DEFINE_ERRORS(prefix)                                                     \
  __attribute__((format(printf, 2, 3))) static rlax_error *prefix##_error(             \
      rlax_error_code code, const char *fmt, ...) {                                    \
    va_list ap;                                                                        \
    va_start(ap, fmt);                                                                 \
    rlax_error *e = rlax_support_error_v(code, fmt, ap);                               \
    va_end(ap);                                                                        \
    return e;                                                                          \
  }                                                                                    \
  static rlax_error_code prefix##_error_code(const rlax_error *e) {                    \
    return e ? e->code : RLAX_OK;                                                      \
  }                                                                                    \
  static const char *prefix##_error_message(const rlax_error *e) {                     \
    return e ? e->message : "";                                                        \
  }                                                                                    \
  static void prefix##_error_destroy(rlax_error *e) {                                  \
    if (e && !rlax_support_error_is_static(e)) free(e);                                \
  }

/* True when the host speaks our ABI major; otherwise logs why (when it can) and returns false. */
static inline bool rlax_host_is_compatible(const rlax_host_services *services, const char *plugin) {
  if (!services) return true; /* a host that hands no services is trusted (tests) */
  if (services->abi_major == RLAX_ABI_MAJOR) return true;
  if (RLAX_STRUCT_HAS_FIELD(rlax_host_services, services->struct_size, log) && services->log) {
    char line[256];
    snprintf(line, sizeof line, "%s: host ABI major %u, plugin built for %u: refusing to load",
             plugin, (unsigned)services->abi_major, (unsigned)RLAX_ABI_MAJOR);
    services->log(services->host_context, RLAX_LOG_ERROR, line);
  }
  return false;
}

/* Logs through the services table when the host gave one. */
static inline void rlax_support_log(const rlax_host_services *services, rlax_log_level level,
                                    const char *message) {
  if (services && RLAX_STRUCT_HAS_FIELD(rlax_host_services, services->struct_size, log) &&
      services->log)
    services->log(services->host_context, level, message);
}

/* Size in bytes of one element of a dtype; 0 for an unknown dtype. */
static inline size_t rlax_dtype_size(rlax_dtype d) {
  switch (d) {
  case RLAX_DTYPE_F32: case RLAX_DTYPE_I32: return 4;
  case RLAX_DTYPE_BF16: case RLAX_DTYPE_F16: return 2;
  case RLAX_DTYPE_I64: case RLAX_DTYPE_F64: return 8;
  case RLAX_DTYPE_U8: return 1;
  default: return 0;
  }
}

#endif /* RLAX_PLUGIN_SUPPORT_H */
