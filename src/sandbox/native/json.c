/* A strict JSON parser (what JSON.parse accepts) and a writer escaping as JSON.stringify does. */
#include "sandbox.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 512

typedef struct {
  const char *p;
  const char *end;
  int depth;
} Parser;

static JVal *new_val(int type) {
  JVal *v = xmalloc(sizeof *v);
  memset(v, 0, sizeof *v);
  v->type = type;
  return v;
}

void json_free(JVal *v) {
  if (!v) return;
  free(v->str);
  for (size_t i = 0; i < v->count; i++) {
    if (v->keys) free(v->keys[i]);
    json_free(v->items[i]);
  }
  free(v->keys);
  free(v->klens);
  free(v->items);
  free(v);
}

static void skip_ws(Parser *ps) {
  while (ps->p < ps->end &&
         (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->p++;
}

static int hex4(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static void put_utf8(Str *s, uint32_t cp) {
  char b[4];
  if (cp < 0x80) {
    b[0] = (char)cp;
    sb_add(s, b, 1);
  } else if (cp < 0x800) {
    b[0] = (char)(0xc0 | (cp >> 6));
    b[1] = (char)(0x80 | (cp & 0x3f));
    sb_add(s, b, 2);
  } else if (cp < 0x10000) {
    b[0] = (char)(0xe0 | (cp >> 12));
    b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[2] = (char)(0x80 | (cp & 0x3f));
    sb_add(s, b, 3);
  } else {
    b[0] = (char)(0xf0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    b[3] = (char)(0x80 | (cp & 0x3f));
    sb_add(s, b, 4);
  }
}

/* A string literal at ps->p (on its opening quote). A lone surrogate becomes U+FFFD, as writing
 * such a JS string as UTF-8 does. */
static int parse_string(Parser *ps, Str *out) {
  ps->p++; /* " */
  for (;;) {
    const char *run = ps->p;
    while (ps->p < ps->end && *ps->p != '"' && *ps->p != '\\' && (unsigned char)*ps->p >= 0x20)
      ps->p++;
    sb_add(out, run, (size_t)(ps->p - run));
    if (ps->p >= ps->end) return -1;
    char c = *ps->p;
    if (c == '"') {
      ps->p++;
      return 0;
    }
    if (c != '\\') return -1; /* a raw control character */
    ps->p++;
    if (ps->p >= ps->end) return -1;
    c = *ps->p++;
    switch (c) {
    case '"': sb_addc(out, '"'); break;
    case '\\': sb_addc(out, '\\'); break;
    case '/': sb_addc(out, '/'); break;
    case 'b': sb_addc(out, '\b'); break;
    case 'f': sb_addc(out, '\f'); break;
    case 'n': sb_addc(out, '\n'); break;
    case 'r': sb_addc(out, '\r'); break;
    case 't': sb_addc(out, '\t'); break;
    case 'u': {
      uint32_t cp;
      if (ps->end - ps->p < 4 || hex4(ps->p, &cp) != 0) return -1;
      ps->p += 4;
      if (cp >= 0xd800 && cp <= 0xdbff) {
        uint32_t low;
        if (ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u' &&
            hex4(ps->p + 2, &low) == 0 && low >= 0xdc00 && low <= 0xdfff) {
          ps->p += 6;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        } else cp = 0xfffd;
      } else if (cp >= 0xdc00 && cp <= 0xdfff) cp = 0xfffd;
      put_utf8(out, cp);
      break;
    }
    default: return -1;
    }
  }
}

static int parse_number(Parser *ps, double *out) {
  const char *start = ps->p;
  if (ps->p < ps->end && *ps->p == '-') ps->p++;
  if (ps->p >= ps->end) return -1;
  if (*ps->p == '0') ps->p++;
  else if (*ps->p >= '1' && *ps->p <= '9') {
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  } else return -1;
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return -1;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    ps->p++;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
    if (ps->p >= ps->end || *ps->p < '0' || *ps->p > '9') return -1;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  }
  char *text = xstrndup(start, (size_t)(ps->p - start));
  *out = strtod(text, NULL);
  free(text);
  return 0;
}

static bool literal(Parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return false;
  ps->p += n;
  return true;
}

static JVal *parse_value(Parser *ps);

static void push_item(JVal *v, size_t *cap, char *key, size_t klen, JVal *item) {
  if (v->count == *cap) {
    *cap = *cap ? *cap * 2 : 4;
    v->items = xrealloc(v->items, *cap * sizeof *v->items);
    if (v->type == J_OBJ) {
      v->keys = xrealloc(v->keys, *cap * sizeof *v->keys);
      v->klens = xrealloc(v->klens, *cap * sizeof *v->klens);
    }
  }
  if (v->type == J_OBJ) {
    v->keys[v->count] = key;
    v->klens[v->count] = klen;
  }
  v->items[v->count++] = item;
}

static JVal *parse_container(Parser *ps, bool object) {
  if (++ps->depth > MAX_DEPTH) return NULL;
  JVal *v = new_val(object ? J_OBJ : J_ARR);
  size_t cap = 0;
  ps->p++; /* [ or { */
  skip_ws(ps);
  char close = object ? '}' : ']';
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    ps->depth--;
    return v;
  }
  for (;;) {
    skip_ws(ps);
    char *key = NULL;
    size_t klen = 0;
    if (object) {
      if (ps->p >= ps->end || *ps->p != '"') break;
      Str k = {0};
      if (parse_string(ps, &k) != 0) {
        sb_free(&k);
        break;
      }
      klen = k.n;
      key = sb_take(&k);
      skip_ws(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        free(key);
        break;
      }
      ps->p++;
    }
    JVal *item = parse_value(ps);
    if (!item) {
      free(key);
      break;
    }
    push_item(v, &cap, key, klen, item);
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == close) {
      ps->p++;
      ps->depth--;
      return v;
    }
    break;
  }
  json_free(v);
  return NULL;
}

static JVal *parse_value(Parser *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end) return NULL;
  char c = *ps->p;
  if (c == '{') return parse_container(ps, true);
  if (c == '[') return parse_container(ps, false);
  if (c == '"') {
    Str s = {0};
    if (parse_string(ps, &s) != 0) {
      sb_free(&s);
      return NULL;
    }
    JVal *v = new_val(J_STR);
    v->len = s.n;
    v->str = sb_take(&s);
    return v;
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    double d;
    if (parse_number(ps, &d) != 0) return NULL;
    JVal *v = new_val(J_NUM);
    v->num = d;
    return v;
  }
  if (literal(ps, "true")) return new_val(J_TRUE);
  if (literal(ps, "false")) return new_val(J_FALSE);
  if (literal(ps, "null")) return new_val(J_NULL);
  return NULL;
}

JVal *json_parse(const char *p, size_t n) {
  Parser ps = {p, p + n, 0};
  JVal *v = parse_value(&ps);
  if (!v) return NULL;
  skip_ws(&ps);
  if (ps.p != ps.end) {
    json_free(v);
    return NULL;
  }
  return v;
}

const JVal *json_get(const JVal *obj, const char *key) {
  if (!obj || obj->type != J_OBJ) return NULL;
  size_t n = strlen(key);
  for (size_t i = obj->count; i-- > 0;)
    if (obj->klens[i] == n && memcmp(obj->keys[i], key, n) == 0) return obj->items[i];
  return NULL;
}

void json_str(Str *out, const char *p, size_t n) {
  static const char hex[] = "0123456789abcdef";
  sb_reserve(out, n + 2);
  sb_addc(out, '"');
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    sb_add(out, p + run, i - run);
    run = i + 1;
    switch (c) {
    case '"': sb_adds(out, "\\\""); break;
    case '\\': sb_adds(out, "\\\\"); break;
    case '\b': sb_adds(out, "\\b"); break;
    case '\f': sb_adds(out, "\\f"); break;
    case '\n': sb_adds(out, "\\n"); break;
    case '\r': sb_adds(out, "\\r"); break;
    case '\t': sb_adds(out, "\\t"); break;
    default: {
      char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      sb_adds(out, esc);
    }
    }
  }
  sb_add(out, p + run, n - run);
  sb_addc(out, '"');
}

void json_strz(Str *out, const char *p) { json_str(out, p, strlen(p)); }

void js_string_of(Str *out, const JVal *v) {
  if (!v) return sb_adds(out, "undefined");
  switch (v->type) {
  case J_NULL: return sb_adds(out, "null");
  case J_TRUE: return sb_adds(out, "true");
  case J_FALSE: return sb_adds(out, "false");
  case J_NUM: return js_number(out, v->num);
  case J_STR: return sb_add(out, v->str, v->len);
  case J_OBJ: return sb_adds(out, "[object Object]");
  case J_ARR:
    for (size_t i = 0; i < v->count; i++) {
      if (i) sb_addc(out, ',');
      if (v->items[i]->type != J_NULL) js_string_of(out, v->items[i]);
    }
    return;
  }
}

void json_stringify(Str *out, const JVal *v) {
  switch (v->type) {
  case J_NULL: return sb_adds(out, "null");
  case J_TRUE: return sb_adds(out, "true");
  case J_FALSE: return sb_adds(out, "false");
  case J_NUM: /* JSON.stringify: a number too large for a double (1e400) is null */
    return isfinite(v->num) ? js_number(out, v->num) : sb_adds(out, "null");
  case J_STR: return json_str(out, v->str, v->len);
  case J_ARR:
    sb_addc(out, '[');
    for (size_t i = 0; i < v->count; i++) {
      if (i) sb_addc(out, ',');
      json_stringify(out, v->items[i]);
    }
    return sb_addc(out, ']');
  case J_OBJ:
    sb_addc(out, '{');
    for (size_t i = 0; i < v->count; i++) {
      if (i) sb_addc(out, ',');
      json_str(out, v->keys[i], v->klens[i]);
      sb_addc(out, ':');
      json_stringify(out, v->items[i]);
    }
    return sb_addc(out, '}');
  }
}
