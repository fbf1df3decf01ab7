/* Strict JSON reader and writer for safetensors headers; see json.h. */
#include "json.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FSJ_MAX_DEPTH 16

typedef struct parser {
  fsj_doc *doc;
  const char *s;
  size_t len, pos;
} parser;

__attribute__((format(printf, 2, 3))) static bool fail(parser *p, const char *fmt, ...) {
  char what[150];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(p->doc->error, sizeof p->doc->error, "invalid JSON at byte %zu: %s", p->pos, what);
  return false;
}

static void skip_ws(parser *p) {
  while (p->pos < p->len) {
    char c = p->s[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

static size_t new_node(parser *p, fsj_type type) {
  fsj_doc *d = p->doc;
  if (d->n == d->cap) {
    size_t ncap = d->cap ? d->cap * 2 : 64;
    fsj_node *nn = (fsj_node *)realloc(d->nodes, ncap * sizeof *nn);
    if (!nn) return FSJ_NONE;
    d->nodes = nn;
    d->cap = ncap;
  }
  fsj_node *n = &d->nodes[d->n];
  memset(n, 0, sizeof *n);
  n->type = type;
  n->first = n->next = FSJ_NONE;
  n->offset = p->pos;
  return d->n++;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static bool read_hex4(parser *p, uint32_t *out) {
  if (p->len - p->pos < 4) return fail(p, "truncated \\u escape");
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(p->s[p->pos + (size_t)i]);
    if (h < 0) return fail(p, "bad hex digit in \\u escape");
    v = v << 4 | (uint32_t)h;
  }
  p->pos += 4;
  *out = v;
  return true;
}

/* Length of a valid UTF-8 sequence at s[0 .. n), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3Fu);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return len;
}

/* Parses a string at p->pos (which is at the opening quote) into the arena. */
static bool parse_string(parser *p, const char **out, size_t *out_len) {
  fsj_doc *d = p->doc;
  p->pos++; /* opening quote */
  char *dst = d->arena + d->arena_used;
  size_t n = 0;
  for (;;) {
    if (p->pos >= p->len) return fail(p, "unterminated string");
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') {
      p->pos++;
      break;
    }
    if (c < 0x20) return fail(p, "control character 0x%02x in string", c);
    if (c == '\\') {
      p->pos++;
      if (p->pos >= p->len) return fail(p, "unterminated escape");
      char e = p->s[p->pos++];
      switch (e) {
      case '"': dst[n++] = '"'; break;
      case '\\': dst[n++] = '\\'; break;
      case '/': dst[n++] = '/'; break;
      case 'b': dst[n++] = '\b'; break;
      case 'f': dst[n++] = '\f'; break;
      case 'n': dst[n++] = '\n'; break;
      case 'r': dst[n++] = '\r'; break;
      case 't': dst[n++] = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!read_hex4(p, &cp)) return false;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return fail(p, "lone low surrogate in \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
            return fail(p, "high surrogate without a low surrogate");
          p->pos += 2;
          if (!read_hex4(p, &lo)) return false;
          if (lo < 0xDC00 || lo > 0xDFFF) return fail(p, "bad low surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp == 0) return fail(p, "NUL character in string");
        if (cp < 0x80) {
          dst[n++] = (char)cp;
        } else if (cp < 0x800) {
          dst[n++] = (char)(0xC0 | cp >> 6);
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          dst[n++] = (char)(0xE0 | cp >> 12);
          dst[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
          dst[n++] = (char)(0xF0 | cp >> 18);
          dst[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
          dst[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
          dst[n++] = (char)(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: return fail(p, "bad escape \\%c", e);
      }
      continue;
    }
    if (c < 0x80) {
      dst[n++] = (char)c;
      p->pos++;
      continue;
    }
    size_t k = utf8_seq((const unsigned char *)p->s + p->pos, p->len - p->pos);
    if (!k) return fail(p, "invalid UTF-8 in string");
    memcpy(dst + n, p->s + p->pos, k);
    n += k;
    p->pos += k;
  }
  dst[n] = '\0';
  d->arena_used += n + 1; /* never exceeds the source length + 1 */
  *out = dst;
  *out_len = n;
  return true;
}

static bool parse_int(parser *p, int64_t *out) {
  bool neg = false;
  if (p->s[p->pos] == '-') {
    neg = true;
    p->pos++;
  }
  if (p->pos >= p->len || p->s[p->pos] < '0' || p->s[p->pos] > '9')
    return fail(p, "expected a digit");
  if (p->s[p->pos] == '0' && p->pos + 1 < p->len && p->s[p->pos + 1] >= '0' &&
      p->s[p->pos + 1] <= '9')
    return fail(p, "leading zero in number");
  uint64_t v = 0;
  while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
    if (__builtin_mul_overflow(v, 10u, &v) ||
        __builtin_add_overflow(v, (uint64_t)(p->s[p->pos] - '0'), &v))
      return fail(p, "integer overflows 64 bits");
    p->pos++;
  }
  if (p->pos < p->len && (p->s[p->pos] == '.' || p->s[p->pos] == 'e' || p->s[p->pos] == 'E'))
    return fail(p, "only integers are supported");
  if (neg) {
    if (v > (uint64_t)INT64_MAX + 1) return fail(p, "integer overflows 64 bits");
    *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
  } else {
    if (v > (uint64_t)INT64_MAX) return fail(p, "integer overflows 64 bits");
    *out = (int64_t)v;
  }
  return true;
}

static int cmp_str_ptr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool check_duplicate_keys(parser *p, size_t obj) {
  fsj_doc *d = p->doc;
  size_t count = d->nodes[obj].count;
  if (count < 2) return true;
  const char **keys = (const char **)malloc(count * sizeof *keys);
  if (!keys) return fail(p, "out of memory");
  size_t i = 0;
  for (size_t c = d->nodes[obj].first; c != FSJ_NONE; c = d->nodes[c].next) keys[i++] = d->nodes[c].key;
  qsort(keys, count, sizeof *keys, cmp_str_ptr);
  for (i = 1; i < count; i++)
    if (strcmp(keys[i - 1], keys[i]) == 0) {
      char name[64];
      snprintf(name, sizeof name, "%s", keys[i]);
      free(keys);
      return fail(p, "duplicate key \"%s\"", name);
    }
  free(keys);
  return true;
}

static bool parse_value(parser *p, size_t *out, int depth);

/* Parses the members of an object or elements of an array; p->pos is past the opener. */
static bool parse_container(parser *p, size_t node, bool is_object, int depth) {
  fsj_doc *d = p->doc;
  char closer = is_object ? '}' : ']';
  size_t last = FSJ_NONE;
  skip_ws(p);
  if (p->pos < p->len && p->s[p->pos] == closer) {
    p->pos++;
    return true;
  }
  for (;;) {
    const char *key = NULL;
    size_t key_len;
    if (is_object) {
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != '"') return fail(p, "expected a key string");
      if (!parse_string(p, &key, &key_len)) return false;
      skip_ws(p);
      if (p->pos >= p->len || p->s[p->pos] != ':') return fail(p, "expected ':'");
      p->pos++;
    }
    size_t child;
    if (!parse_value(p, &child, depth + 1)) return false;
    d->nodes[child].key = key;
    if (last == FSJ_NONE) d->nodes[node].first = child;
    else d->nodes[last].next = child;
    last = child;
    d->nodes[node].count++;
    skip_ws(p);
    if (p->pos >= p->len) return fail(p, "unterminated %s", is_object ? "object" : "array");
    char c = p->s[p->pos++];
    if (c == ',') continue;
    if (c == closer) break;
    p->pos--;
    return fail(p, "expected ',' or '%c'", closer);
  }
  return is_object ? check_duplicate_keys(p, node) : true;
}

static bool parse_value(parser *p, size_t *out, int depth) {
  if (depth > FSJ_MAX_DEPTH) return fail(p, "nesting deeper than %d", FSJ_MAX_DEPTH);
  skip_ws(p);
  if (p->pos >= p->len) return fail(p, "unexpected end of input");
  char c = p->s[p->pos];
  size_t node;
  switch (c) {
  case '{':
  case '[':
    if ((node = new_node(p, c == '{' ? FSJ_OBJECT : FSJ_ARRAY)) == FSJ_NONE)
      return fail(p, "out of memory");
    p->pos++;
    if (!parse_container(p, node, c == '{', depth)) return false;
    break;
  case '"': {
    if ((node = new_node(p, FSJ_STRING)) == FSJ_NONE) return fail(p, "out of memory");
    const char *s;
    size_t n;
    if (!parse_string(p, &s, &n)) return false;
    p->doc->nodes[node].str = s;
    p->doc->nodes[node].len = n;
    break;
  }
  default:
    if (c == '-' || (c >= '0' && c <= '9')) {
      if ((node = new_node(p, FSJ_INT)) == FSJ_NONE) return fail(p, "out of memory");
      int64_t v = 0;
      if (!parse_int(p, &v)) return false;
      p->doc->nodes[node].integer = v;
    } else {
      return fail(p, "unexpected character '%c'", c >= 0x20 && c < 0x7F ? c : '?');
    }
  }
  *out = node;
  return true;
}

bool fsj_parse(fsj_doc *doc, const char *src, size_t len) {
  memset(doc, 0, sizeof *doc);
  parser p = {doc, src, len, 0};
  doc->arena_cap = len + 1;
  doc->arena = (char *)malloc(doc->arena_cap);
  if (!doc->arena) return fail(&p, "out of memory");
  size_t root;
  if (!parse_value(&p, &root, 0)) return false;
  skip_ws(&p);
  if (p.pos != len) return fail(&p, "trailing characters after the value");
  return true;
}

void fsj_free(fsj_doc *doc) {
  free(doc->nodes);
  free(doc->arena);
  doc->nodes = NULL;
  doc->arena = NULL;
  doc->n = doc->cap = 0;
}

/* ---------------------------------------------------------------------------------------- */

void fsj_buf_append(fsj_buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n + 1) ncap *= 2;
    char *nd = (char *)realloc(b->data, ncap);
    if (!nd) {
      b->failed = true;
      return;
    }
    b->data = nd;
    b->cap = ncap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void fsj_buf_puts(fsj_buf *b, const char *s) { fsj_buf_append(b, s, strlen(s)); }

void fsj_buf_printf(fsj_buf *b, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->failed = true;
    return;
  }
  fsj_buf_append(b, tmp, (size_t)n);
}

void fsj_buf_string(fsj_buf *b, const char *s, size_t n) {
  fsj_buf_append(b, "\"", 1);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char u[8];
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c == '\b') esc = "\\b";
    else if (c == '\f') esc = "\\f";
    else if (c < 0x20) {
      snprintf(u, sizeof u, "\\u%04x", c);
      esc = u;
    }
    if (esc) {
      fsj_buf_append(b, s + start, i - start);
      fsj_buf_puts(b, esc);
      start = i + 1;
    }
  }
  fsj_buf_append(b, s + start, n - start);
  fsj_buf_append(b, "\"", 1);
}

void fsj_buf_free(fsj_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
