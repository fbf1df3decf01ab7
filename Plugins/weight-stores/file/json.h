/*
 * A small strict JSON reader and writer for safetensors headers (file store only).
 *
 * Reader: objects, arrays, strings (all escapes, \uXXXX with surrogate pairs, raw bytes must
 * be valid UTF-8, no control characters, no NUL), integers (-?(0|[1-9][0-9]*), int64 range).
 * Floats, true, false and null are rejected, as are duplicate keys in an object, nesting
 * deeper than 16 and anything but whitespace after the top-level value. The result is a tree
 * of nodes in one array; strings are decoded into one arena, NUL-terminated.
 *
 * Writer: a growable byte buffer with JSON string escaping.
 */
#ifndef RLAX_FILE_STORE_JSON_H
#define RLAX_FILE_STORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FSJ_NONE ((size_t)-1)

typedef enum fsj_type { FSJ_OBJECT, FSJ_ARRAY, FSJ_STRING, FSJ_INT } fsj_type;

typedef struct fsj_node {
  fsj_type type;
  size_t first;      /* first child (object member or array element), FSJ_NONE */
  size_t next;       /* next sibling, FSJ_NONE */
  size_t count;      /* number of children */
  const char *key;   /* member name when the parent is an object, else NULL */
  const char *str;   /* FSJ_STRING: decoded, NUL-terminated */
  size_t len;        /* FSJ_STRING: decoded length */
  int64_t integer;   /* FSJ_INT */
  size_t offset;     /* where the value starts in the source text */
} fsj_node;

typedef struct fsj_doc {
  fsj_node *nodes; /* nodes[0] is the root */
  size_t n, cap;
  char *arena;
  size_t arena_used, arena_cap;
  char error[192]; /* why parsing failed */
} fsj_doc;

/* Parses src[0 .. len). false on failure, with doc->error saying why (and where). Free the
 * document with fsj_free either way. */
bool fsj_parse(fsj_doc *doc, const char *src, size_t len);
void fsj_free(fsj_doc *doc);

/* A growable buffer. `failed` is set when an allocation fails; later appends do nothing. */
typedef struct fsj_buf {
  char *data;
  size_t len, cap;
  bool failed;
} fsj_buf;

void fsj_buf_append(fsj_buf *b, const char *s, size_t n);
void fsj_buf_puts(fsj_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void fsj_buf_printf(fsj_buf *b, const char *fmt, ...);
/* Appends s as a JSON string literal, quotes included. */
void fsj_buf_string(fsj_buf *b, const char *s, size_t n);
void fsj_buf_free(fsj_buf *b);

#endif
