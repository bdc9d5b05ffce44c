/* Strings, UTF-8/UTF-16, Node-like numbers, paths, errors and fs helpers. */
#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- memory and strings */

static void out_of_memory(void) {
  static const char text[] = "sandbox: out of memory\n";
  ssize_t ignored = write(2, text, sizeof text - 1);
  (void)ignored;
  _exit(70);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) out_of_memory();
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}

char *xstrndup(const char *s, size_t n) {
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

void sb_reserve(Str *s, size_t extra) {
  if (extra > SIZE_MAX / 2 - s->n) out_of_memory();
  size_t need = s->n + extra + 1;
  if (need <= s->cap) return;
  size_t cap = s->cap ? s->cap : 64;
  while (cap < need) cap *= 2;
  s->p = xrealloc(s->p, cap);
  s->cap = cap;
}

void sb_add(Str *s, const char *p, size_t n) {
  sb_reserve(s, n);
  if (n) memcpy(s->p + s->n, p, n);
  s->n += n;
  s->p[s->n] = '\0';
}

void sb_adds(Str *s, const char *p) { sb_add(s, p, strlen(p)); }

void sb_addc(Str *s, char c) { sb_add(s, &c, 1); }

void sb_addf(Str *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  int need = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (need < 0) {
    va_end(ap);
    return;
  }
  sb_reserve(s, (size_t)need);
  vsnprintf(s->p + s->n, (size_t)need + 1, fmt, ap);
  s->n += (size_t)need;
  va_end(ap);
}

void sb_clear(Str *s) {
  s->n = 0;
  if (s->p) s->p[0] = '\0';
}

void sb_free(Str *s) {
  free(s->p);
  s->p = NULL;
  s->n = s->cap = 0;
}

char *sb_take(Str *s) {
  if (!s->p) return xstrdup("");
  char *p = s->p;
  s->p = NULL;
  s->n = s->cap = 0;
  return p;
}

char *xsprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  int need = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (need < 0) need = 0;
  char *p = xmalloc((size_t)need + 1);
  vsnprintf(p, (size_t)need + 1, fmt, ap);
  va_end(ap);
  return p;
}

void random_hex(char *out, size_t bytes) {
  static const char hex[] = "0123456789abcdef";
  unsigned char buf[32];
  if (bytes > sizeof buf) bytes = sizeof buf;
  size_t got = 0;
  while (got < bytes) {
    ssize_t r = getrandom(buf + got, bytes - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      for (; got < bytes; got++) buf[got] = (unsigned char)(rand() & 0xff);
      break;
    }
    got += (size_t)r;
  }
  for (size_t i = 0; i < bytes; i++) {
    out[2 * i] = hex[buf[i] >> 4];
    out[2 * i + 1] = hex[buf[i] & 15];
  }
  out[2 * bytes] = '\0';
}

int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------------- UTF-8 and UTF-16 */

size_t utf8_next(const char *s, size_t n, uint32_t *cp) {
  const unsigned char *p = (const unsigned char *)s;
  if (n == 0) {
    *cp = 0;
    return 0;
  }
  unsigned char c = p[0];
  if (c < 0x80 || n < 2) {
    *cp = c;
    return 1;
  }
  if (c < 0xe0) {
    *cp = ((uint32_t)(c & 0x1f) << 6) | (p[1] & 0x3f);
    return 2;
  }
  if (c < 0xf0 || n < 4) {
    if (n < 3) {
      *cp = c;
      return 1;
    }
    *cp = ((uint32_t)(c & 0x0f) << 12) | ((uint32_t)(p[1] & 0x3f) << 6) | (p[2] & 0x3f);
    return 3;
  }
  *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(p[1] & 0x3f) << 12) |
        ((uint32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
  return 4;
}

/* What a leading byte announces: the sequence length (0: not a leading byte) and the range of
 * the byte after it (Unicode's table 3-7, no overlongs, no surrogates, nothing past U+10FFFF). */
static size_t utf8_lead(unsigned char c, unsigned char *lo, unsigned char *hi) {
  *lo = 0x80;
  *hi = 0xbf;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) {
    if (c == 0xe0) *lo = 0xa0;
    if (c == 0xed) *hi = 0x9f;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c == 0xf0) *lo = 0x90;
    if (c == 0xf4) *hi = 0x8f;
    return 4;
  }
  return 0;
}

/* How many bytes at p continue the sequence its leading byte announces (at least 1). */
static size_t utf8_prefix(const unsigned char *p, size_t n, size_t *need) {
  unsigned char lo, hi;
  *need = utf8_lead(p[0], &lo, &hi);
  if (*need <= 1) return 1;
  size_t i = 1;
  for (; i < *need && i < n; i++) {
    if (p[i] < (i == 1 ? lo : 0x80) || p[i] > (i == 1 ? hi : 0xbf)) break;
  }
  return i;
}

/* Length of the valid UTF-8 sequence at p, 0 when invalid or incomplete (then *incomplete). */
static size_t utf8_seq(const unsigned char *p, size_t n, bool *incomplete) {
  size_t need;
  size_t got = utf8_prefix(p, n, &need);
  *incomplete = need > 1 && got == n && got < need;
  return need > 0 && got == need ? need : 0;
}

/* How many bytes at p form the maximal subpart of an ill-formed sequence (at least 1). */
static size_t utf8_bad_len(const unsigned char *p, size_t n) {
  size_t need;
  return utf8_prefix(p, n, &need);
}

bool utf8_valid(const unsigned char *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    bool incomplete;
    size_t len = utf8_seq(p + i, n - i, &incomplete);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

static const char REPLACEMENT[] = "\xef\xbf\xbd";

void utf8_stream_push(Utf8Stream *d, const char *in, size_t n, Str *out) {
  /* Complete a sequence left over from the previous chunk first. */
  while (d->npending > 0 && n > 0) {
    d->pending[d->npending++] = (unsigned char)*in++;
    n--;
    bool incomplete;
    size_t len = utf8_seq(d->pending, d->npending, &incomplete);
    if (incomplete && d->npending < 4) continue;
    if (len > 0) {
      sb_add(out, (const char *)d->pending, len);
      d->npending = 0;
      break;
    }
    /* Ill-formed: replace its maximal subpart, re-read the rest. */
    size_t bad = utf8_bad_len(d->pending, d->npending);
    sb_add(out, REPLACEMENT, 3);
    unsigned char rest[4];
    size_t nrest = d->npending - bad;
    memcpy(rest, d->pending + bad, nrest);
    d->npending = 0;
    Utf8Stream again = {{0}, 0};
    utf8_stream_push(&again, (const char *)rest, nrest, out);
    memcpy(d->pending, again.pending, again.npending);
    d->npending = again.npending;
  }
  const unsigned char *p = (const unsigned char *)in;
  size_t i = 0, run = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    bool incomplete;
    size_t len = utf8_seq(p + i, n - i, &incomplete);
    if (len > 0) {
      i += len;
      continue;
    }
    sb_add(out, in + run, i - run);
    if (incomplete) {
      memcpy(d->pending, p + i, n - i);
      d->npending = n - i;
      return;
    }
    sb_add(out, REPLACEMENT, 3);
    i += utf8_bad_len(p + i, n - i);
    run = i;
  }
  sb_add(out, in + run, n - run);
}

void utf8_stream_end(Utf8Stream *d, Str *out) {
  if (d->npending > 0) sb_add(out, REPLACEMENT, 3);
  d->npending = 0;
}

size_t u16len(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t units = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    if ((c & 0xc0) == 0x80) continue; /* continuation byte */
    units += c >= 0xf0 ? 2 : 1;
  }
  return units;
}

size_t u16_to_byte(const char *s, size_t n, size_t units) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0, u = 0;
  while (i < n && u < units) {
    unsigned char c = p[i];
    size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    size_t w = c >= 0xf0 ? 2 : 1;
    if (u + w > units) break; /* inside a surrogate pair: stop before it */
    u += w;
    i += len;
    while (i < n && (p[i] & 0xc0) == 0x80) i++;
  }
  return i > n ? n : i;
}

size_t byte_to_u16(const char *s, size_t byte) { return u16len(s, byte); }

static bool js_space(uint32_t cp) {
  switch (cp) {
  case 0x09: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x20: case 0xa0: case 0x1680:
  case 0x2028: case 0x2029: case 0x202f: case 0x205f: case 0x3000: case 0xfeff:
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200a;
  }
}

void js_trim(const char *p, size_t n, size_t *start, size_t *end) {
  size_t i = 0;
  while (i < n) {
    uint32_t cp;
    size_t len = utf8_next(p + i, n - i, &cp);
    if (!js_space(cp)) break;
    i += len;
  }
  size_t j = n;
  while (j > i) {
    size_t k = j - 1;
    while (k > i && ((unsigned char)p[k] & 0xc0) == 0x80) k--;
    uint32_t cp;
    utf8_next(p + k, j - k, &cp);
    if (!js_space(cp)) break;
    j = k;
  }
  *start = i;
  *end = j;
}

bool js_is_blank(const char *p, size_t n) {
  size_t a, b;
  js_trim(p, n, &a, &b);
  return a == b;
}

/* ---------------------------------------------------------------- numbers */

void js_number(Str *out, double v) {
  if (isnan(v)) return sb_adds(out, "NaN");
  if (isinf(v)) return sb_adds(out, v < 0 ? "-Infinity" : "Infinity");
  if (v == 0) return sb_addc(out, '0');
  if (v < 0) {
    sb_addc(out, '-');
    v = -v;
  }
  /* The shortest digits that round-trip, then ECMAScript's Number::toString layout. */
  char buf[40];
  int precision = 1;
  for (; precision <= 17; precision++) {
    snprintf(buf, sizeof buf, "%.*e", precision - 1, v);
    if (strtod(buf, NULL) == v) break;
  }
  char digits[24];
  size_t k = 0;
  for (const char *c = buf; *c && *c != 'e'; c++)
    if (*c >= '0' && *c <= '9' && k < sizeof digits - 1) digits[k++] = *c;
  while (k > 1 && digits[k - 1] == '0') k--;
  digits[k] = '\0';
  int n = atoi(strchr(buf, 'e') + 1) + 1; /* the decimal point sits after n digits */
  if ((int)k <= n && n <= 21) {
    sb_add(out, digits, k);
    for (int i = (int)k; i < n; i++) sb_addc(out, '0');
  } else if (0 < n && n <= 21) {
    sb_add(out, digits, (size_t)n);
    sb_addc(out, '.');
    sb_add(out, digits + n, k - (size_t)n);
  } else if (-6 < n && n <= 0) {
    sb_adds(out, "0.");
    for (int i = 0; i < -n; i++) sb_addc(out, '0');
    sb_add(out, digits, k);
  } else {
    sb_addc(out, digits[0]);
    if (k > 1) {
      sb_addc(out, '.');
      sb_add(out, digits + 1, k - 1);
    }
    sb_addf(out, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
  }
}

/* ---------------------------------------------------------------- paths (POSIX, as Node's) */

/* Node's normalizeString for absolute paths: resolves `.`/`..`, collapses slashes. */
static void normalize_segments(Str *out, const char *p) {
  /* out gets "/seg/seg" (or "/" alone) */
  sb_clear(out);
  const char *s = p;
  while (*s) {
    while (*s == '/') s++;
    if (!*s) break;
    const char *e = s;
    while (*e && *e != '/') e++;
    size_t len = (size_t)(e - s);
    if (len == 1 && s[0] == '.') {
      /* skip */
    } else if (len == 2 && s[0] == '.' && s[1] == '.') {
      char *slash = out->n ? strrchr(out->p, '/') : NULL;
      if (slash) {
        out->n = (size_t)(slash - out->p);
        out->p[out->n] = '\0';
      }
    } else {
      sb_addc(out, '/');
      sb_add(out, s, len);
    }
    s = e;
  }
  if (out->n == 0) sb_addc(out, '/');
}

char *path_normalize(const char *p) {
  if (*p == '\0') return xstrdup(".");
  Str out = {0};
  if (p[0] == '/') {
    normalize_segments(&out, p);
  } else {
    /* relative: segments without resolving leading `..` above the start */
    Str segs = {0};
    const char *s = p;
    size_t ups = 0;
    while (*s) {
      while (*s == '/') s++;
      if (!*s) break;
      const char *e = s;
      while (*e && *e != '/') e++;
      size_t len = (size_t)(e - s);
      if (len == 1 && s[0] == '.') {
      } else if (len == 2 && s[0] == '.' && s[1] == '.') {
        char *slash = segs.n ? strrchr(segs.p, '/') : NULL;
        if (segs.n && slash) {
          segs.n = (size_t)(slash - segs.p);
          segs.p[segs.n] = '\0';
        } else if (segs.n) {
          sb_clear(&segs);
        } else ups++;
      } else {
        if (segs.n) sb_addc(&segs, '/');
        sb_add(&segs, s, len);
      }
      s = e;
    }
    for (size_t i = 0; i < ups; i++) sb_adds(&out, i ? "/.." : "..");
    if (segs.n) {
      if (out.n) sb_addc(&out, '/');
      sb_add(&out, segs.p, segs.n);
    }
    sb_free(&segs);
    if (out.n == 0) sb_addc(&out, '.');
  }
  size_t len = strlen(p);
  if (len > 0 && p[len - 1] == '/' && !(out.n == 1 && out.p[0] == '/')) sb_addc(&out, '/');
  return sb_take(&out);
}

char *path_join2(const char *a, const char *b) {
  Str joined = {0};
  sb_adds(&joined, a);
  if (*a && *b) sb_addc(&joined, '/');
  sb_adds(&joined, b);
  char *result = path_normalize(joined.p ? joined.p : "");
  sb_free(&joined);
  return result;
}

char *path_resolve2(const char *a, const char *b) {
  Str joined = {0};
  if (b[0] == '/') sb_adds(&joined, b);
  else {
    sb_adds(&joined, a);
    sb_addc(&joined, '/');
    sb_adds(&joined, b);
  }
  Str out = {0};
  normalize_segments(&out, joined.p);
  sb_free(&joined);
  return sb_take(&out);
}

char *path_dirname(const char *p) {
  size_t len = strlen(p);
  if (len == 0) return xstrdup(".");
  bool absolute = p[0] == '/';
  size_t end = 0;
  bool matched_slash = true;
  for (size_t i = len - 1; i >= 1; i--) {
    if (p[i] == '/') {
      if (!matched_slash) {
        end = i;
        break;
      }
    } else matched_slash = false;
  }
  if (end == 0) return xstrdup(absolute ? "/" : ".");
  if (absolute && end == 1) return xstrdup("//");
  return xstrndup(p, end);
}

char *path_basename(const char *p) {
  size_t len = strlen(p);
  size_t end = len;
  while (end > 0 && p[end - 1] == '/') end--;
  size_t start = end;
  while (start > 0 && p[start - 1] != '/') start--;
  return xstrndup(p + start, end - start);
}

bool is_inside(const char *root, const char *candidate) {
  if (strcmp(root, candidate) == 0) return true;
  size_t n = strlen(root);
  if (n > 0 && root[n - 1] == '/') return strncmp(candidate, root, n) == 0;
  return strncmp(candidate, root, n) == 0 && candidate[n] == '/';
}

/* ---------------------------------------------------------------- failures */

Fail g_fail;

void fail_clear(void) {
  free(g_fail.msg);
  g_fail.msg = NULL;
  g_fail.type = FAIL_NONE;
  g_fail.err = 0;
}

int fail_msg(int type, const char *fmt, ...) {
  fail_clear();
  va_list ap;
  va_start(ap, fmt);
  va_list copy;
  va_copy(copy, ap);
  int need = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (need < 0) need = 0;
  g_fail.msg = xmalloc((size_t)need + 1);
  vsnprintf(g_fail.msg, (size_t)need + 1, fmt, ap);
  va_end(ap);
  g_fail.type = type;
  return -1;
}

/* libuv's names and texts, which Node puts in its error messages. */
static const struct {
  int err;
  const char *code;
  const char *text;
} ERRORS[] = {
    {EACCES, "EACCES", "permission denied"},
    {EPERM, "EPERM", "operation not permitted"},
    {ENOENT, "ENOENT", "no such file or directory"},
    {ENOTDIR, "ENOTDIR", "not a directory"},
    {EISDIR, "EISDIR", "illegal operation on a directory"},
    {EEXIST, "EEXIST", "file already exists"},
    {ELOOP, "ELOOP", "too many symbolic links encountered"},
    {ENAMETOOLONG, "ENAMETOOLONG", "name too long"},
    {ENOSPC, "ENOSPC", "no space left on device"},
    {EROFS, "EROFS", "read-only file system"},
    {EBUSY, "EBUSY", "resource busy or locked"},
    {ENOTEMPTY, "ENOTEMPTY", "directory not empty"},
    {EMFILE, "EMFILE", "too many open files"},
    {ENFILE, "ENFILE", "file table overflow"},
    {EIO, "EIO", "i/o error"},
    {EINVAL, "EINVAL", "invalid argument"},
    {ENXIO, "ENXIO", "no such device or address"},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {EDQUOT, "EDQUOT", "disk quota exceeded"},
    {EFBIG, "EFBIG", "file too large"},
    {EXDEV, "EXDEV", "cross-device link not permitted"},
    {ENOMEM, "ENOMEM", "not enough memory"},
    {EBADF, "EBADF", "bad file descriptor"},
};

const char *errno_code(int err) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
    if (ERRORS[i].err == err) return ERRORS[i].code;
  return "EUNKNOWN";
}

int fail_sys(int err, const char *syscall, const char *path) {
  const char *text = NULL;
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++)
    if (ERRORS[i].err == err) text = ERRORS[i].text;
  if (!text) text = strerror(err);
  if (path) fail_msg(FAIL_SYS, "%s: %s, %s '%s'", errno_code(err), text, syscall, path);
  else fail_msg(FAIL_SYS, "%s: %s, %s", errno_code(err), text, syscall);
  g_fail.err = err;
  return -1;
}

/* ---------------------------------------------------------------- fs helpers */

/* Node's JS fs.realpathSync: lstat each component, follow links (stat first, so a loop or a
 * dangling link throws like Node), restart from the root after each link. */
int js_realpath(const char *path, char **out) {
  char *p = path_resolve2("/", path);
  Str current = {0}, base = {0};
  size_t pos = 1;
  int links = 0;
  sb_adds(&current, "/");
  sb_adds(&base, "/");
  int rc = 0;
  while (pos < strlen(p)) {
    const char *slash = strchr(p + pos, '/');
    char *previous = xstrdup(current.p);
    if (!slash) {
      const char *last = p + pos;
      sb_adds(&current, last);
      sb_clear(&base);
      sb_adds(&base, previous);
      sb_adds(&base, last);
      pos = strlen(p);
    } else {
      size_t len = (size_t)(slash - (p + pos));
      sb_add(&current, p + pos, len + 1);
      sb_clear(&base);
      sb_adds(&base, previous);
      sb_add(&base, p + pos, len);
      pos += len + 1;
    }
    struct stat st;
    if (lstat(base.p, &st) != 0) {
      rc = fail_sys(errno, "lstat", base.p);
      free(previous);
      break;
    }
    if (!S_ISLNK(st.st_mode)) {
      free(previous);
      continue;
    }
    if (stat(base.p, &st) != 0) {
      rc = fail_sys(errno, "stat", base.p);
      free(previous);
      break;
    }
    if (++links > 1000) { /* stat already refuses loops; this only bounds the work */
      rc = fail_sys(ELOOP, "stat", base.p);
      free(previous);
      break;
    }
    char target[PATH_MAX + 1];
    ssize_t got = readlink(base.p, target, PATH_MAX);
    if (got < 0) {
      rc = fail_sys(errno, "readlink", base.p);
      free(previous);
      break;
    }
    target[got] = '\0';
    char *resolved_link = path_resolve2(previous, target);
    char *rest = path_resolve2(resolved_link, p + pos);
    free(resolved_link);
    free(p);
    p = rest;
    free(previous);
    sb_clear(&current);
    sb_adds(&current, "/");
    sb_clear(&base);
    sb_adds(&base, "/");
    pos = 1;
  }
  sb_free(&current);
  sb_free(&base);
  if (rc != 0) {
    free(p);
    return -1;
  }
  *out = p;
  return 0;
}

int mkdir_recursive(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return 0;
    return fail_sys(EEXIST, "mkdir", path);
  }
  if (errno == ENOTDIR) return fail_sys(ENOTDIR, "mkdir", path);
  char *parent = path_dirname(path);
  int rc = 0;
  if (strcmp(parent, path) != 0) rc = mkdir_recursive(parent);
  free(parent);
  if (rc != 0) {
    /* Node names the path asked for in a parent's ENOTDIR */
    if (g_fail.err == ENOTDIR) return fail_sys(ENOTDIR, "mkdir", path);
    return rc;
  }
  if (mkdir(path, 0777) != 0 && errno != EEXIST) return fail_sys(errno, "mkdir", path);
  return 0;
}

/* Removes one entry of `at`: 0 when it is gone (or was), 1 when it is a directory to empty first,
 * -1 with g_fail. */
static int unlink_entry(int at, const char *name, const char *shown) {
  if (unlinkat(at, name, 0) == 0) return 0;
  int e = errno;
  if (e == ENOENT) return 0;
  if (e != EISDIR && e != EPERM) return fail_sys(e, "unlink", shown);
  struct stat st;
  if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT ? 0 : fail_sys(errno, "lstat", shown);
  }
  return S_ISDIR(st.st_mode) ? 1 : fail_sys(e, "unlink", shown);
}

/* A directory being emptied: its subdirectories still to remove, and its identity. */
typedef struct {
  char **subs;
  size_t count, next;
  size_t mark; /* the length of the shown path of its parent */
  dev_t dev;
  ino_t ino;
} RmLevel;

/* Reads `dir`, unlinking what is not a directory and listing the directories in `level`. */
static int rm_scan(int dir, Str *shown, RmLevel *level) {
  struct stat st;
  if (fstat(dir, &st) != 0) return fail_sys(errno, "fstat", shown->p);
  level->dev = st.st_dev;
  level->ino = st.st_ino;
  int copy = dup(dir);
  DIR *d = copy >= 0 ? fdopendir(copy) : NULL;
  if (!d) {
    int e = errno;
    if (copy >= 0) close(copy);
    return fail_sys(e, "opendir", shown->p);
  }
  size_t cap = 0;
  int rc = 0;
  struct dirent *entry;
  while (rc == 0 && (entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    size_t keep = shown->n;
    sb_addc(shown, '/');
    sb_adds(shown, entry->d_name);
    int r = unlink_entry(dir, entry->d_name, shown->p);
    shown->n = keep;
    shown->p[keep] = '\0';
    if (r < 0) rc = -1;
    if (r != 1) continue;
    if (level->count == cap) {
      cap = cap ? cap * 2 : 8;
      level->subs = xrealloc(level->subs, cap * sizeof *level->subs);
    }
    level->subs[level->count++] = xstrdup(entry->d_name);
  }
  closedir(d);
  return rc;
}

static void rm_level_free(RmLevel *level) {
  for (size_t i = 0; i < level->count; i++) free(level->subs[i]);
  free(level->subs);
}

/* Removes `name` in directory `at` with everything below it, without recursion: one directory
 * open at a time (down into a subdirectory, back up through "..", checked to be the directory it
 * came from), so no tree is too deep for the open-file limit, the stack or PATH_MAX. */
static int rm_at(int at, const char *name, const char *shown_path) {
  int rc = unlink_entry(at, name, shown_path);
  if (rc <= 0) return rc;
  int dir = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0) return errno == ENOENT ? 0 : fail_sys(errno, "opendir", shown_path);
  Str shown = {0};
  sb_adds(&shown, shown_path);
  RmLevel *levels = xmalloc(sizeof *levels);
  size_t depth = 0, cap = 1;
  memset(levels, 0, sizeof *levels);
  rc = rm_scan(dir, &shown, &levels[0]);
  while (rc == 0) {
    RmLevel *level = &levels[depth];
    if (level->next < level->count) { /* down into the next subdirectory */
      const char *sub = level->subs[level->next++];
      int child = openat(dir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      size_t mark = shown.n;
      sb_addc(&shown, '/');
      sb_adds(&shown, sub);
      if (child < 0) {
        if (errno != ENOENT) rc = fail_sys(errno, "opendir", shown.p);
        shown.n = mark;
        shown.p[mark] = '\0';
        continue;
      }
      close(dir);
      dir = child;
      if (++depth == cap) {
        cap *= 2;
        levels = xrealloc(levels, cap * sizeof *levels);
      }
      memset(&levels[depth], 0, sizeof levels[depth]);
      levels[depth].mark = mark;
      rc = rm_scan(dir, &shown, &levels[depth]);
      continue;
    }
    if (depth == 0) break; /* emptied */
    /* back up: the parent must be the directory we came down from */
    int parent = openat(dir, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct stat st;
    if (parent < 0 || fstat(parent, &st) != 0 || st.st_dev != levels[depth - 1].dev ||
        st.st_ino != levels[depth - 1].ino) {
      if (parent >= 0) close(parent);
      rc = fail_sys(EBUSY, "rmdir", shown.p); /* it was moved meanwhile */
      break;
    }
    close(dir);
    dir = parent;
    if (unlinkat(dir, levels[depth - 1].subs[levels[depth - 1].next - 1], AT_REMOVEDIR) != 0 &&
        errno != ENOENT) {
      rc = fail_sys(errno, "rmdir", shown.p);
    }
    shown.n = levels[depth].mark;
    shown.p[shown.n] = '\0';
    rm_level_free(&levels[depth--]);
  }
  close(dir);
  for (size_t i = 0; i <= depth; i++) rm_level_free(&levels[i]);
  free(levels);
  sb_free(&shown);
  if (rc == 0 && unlinkat(at, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
    rc = fail_sys(errno, "rmdir", shown_path);
  }
  return rc;
}

int rm_recursive(const char *path) {
  char *parent = path_dirname(path);
  char *name = path_basename(path);
  int at = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc;
  if (at < 0) rc = errno == ENOENT ? 0 : fail_sys(errno, "open", parent);
  else {
    rc = rm_at(at, name, path);
    close(at);
  }
  free(parent);
  free(name);
  return rc;
}
