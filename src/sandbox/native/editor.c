/* file_editor, as src/sandbox/file-editor.ts and workspace-paths.ts (the reference). */
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
#include <unistd.h>

#define MAX_VIEW_CHARS 16000
#define MAX_FILE_BYTES (10 * 1024 * 1024)
#define SNIPPET_LINES 4
#define UNDO_STEPS 10
#define MAX_SYMLINK_HOPS 40
#define MAX_PATH_CHARS 4096 /* as workspace-paths.ts */

typedef struct History {
  char *real;
  Str steps[UNDO_STEPS];
  size_t count;
  struct History *next;
} History;

struct Editor {
  char *workspace;
  History *history;
};

typedef struct {
  const char *p;
  size_t n;
} Slice;

typedef struct {
  Slice *items;
  size_t count;
} Lines;

Editor *editor_new(const char *workspace) {
  Editor *e = xmalloc(sizeof *e);
  e->workspace = xstrdup(workspace);
  e->history = NULL;
  return e;
}

void editor_free(Editor *e) {
  if (!e) return;
  for (History *h = e->history, *next; h; h = next) {
    next = h->next;
    for (size_t i = 0; i < h->count; i++) sb_free(&h->steps[i]);
    free(h->real);
    free(h);
  }
  free(e->workspace);
  free(e);
}


/* ---------------------------------------------------------------- workspace paths */

static bool is_missing(int err) { return err == ENOENT || err == ENOTDIR; }

static char *readlink_or_null(const char *target) {
  char buf[PATH_MAX + 1];
  ssize_t got = readlink(target, buf, PATH_MAX);
  if (got < 0) return NULL;
  return xstrndup(buf, (size_t)got);
}

static int real_path_of(const char *target, int hops, char **out) {
  if (js_realpath(target, out) == 0) return 0;
  if (!is_missing(g_fail.err)) return -1;
  fail_clear();
  char *parent = path_dirname(target);
  if (strcmp(parent, target) == 0) {
    free(parent);
    *out = xstrdup(target);
    return 0;
  }
  char *real_parent;
  int rc = real_path_of(parent, hops, &real_parent);
  free(parent);
  if (rc != 0) return rc;
  char *base = path_basename(target);
  char *candidate = path_join2(real_parent, base);
  free(base);
  free(real_parent);
  char *link = readlink_or_null(candidate);
  if (!link) {
    *out = candidate;
    return 0;
  }
  if (hops >= MAX_SYMLINK_HOPS) {
    free(link);
    free(candidate);
    return fail_msg(FAIL_PATH, "Too many levels of symbolic links at %s.", target);
  }
  char *dir = path_dirname(candidate);
  char *next = path_resolve2(dir, link);
  free(dir);
  free(link);
  free(candidate);
  rc = real_path_of(next, hops + 1, out);
  free(next);
  return rc;
}

static bool has_dotdot_segment(const char *p, bool backslash_too) {
  const char *s = p;
  for (;;) {
    const char *e = s;
    while (*e && *e != '/' && !(backslash_too && *e == '\\')) e++;
    if (e - s == 2 && s[0] == '.' && s[1] == '.') return true;
    if (!*e) return false;
    s = e + 1;
  }
}

int resolve_workspace_path(const char *workspace, const char *requested, char **out) {
  if (js_is_blank(requested, strlen(requested))) return fail_msg(FAIL_PATH, "The path is empty.");
  /* resolving walks the path a component at a time (recursively): bounded work for any request */
  size_t chars = u16len(requested, strlen(requested));
  if (chars > MAX_PATH_CHARS) {
    return fail_msg(FAIL_PATH, "The path is too long (%zu characters; the limit is %d).", chars,
                    MAX_PATH_CHARS);
  }
  if (requested[0] != '/') {
    char *suggestion;
    if (has_dotdot_segment(requested, true)) suggestion = xstrdup("");
    else {
      char *joined = path_join2(workspace, requested);
      suggestion = xsprintf(" Maybe you meant %s?", joined);
      free(joined);
    }
    fail_msg(FAIL_PATH, "The path %s is not absolute; it should start with `/`.%s", requested,
             suggestion);
    free(suggestion);
    return -1;
  }
  if (has_dotdot_segment(requested, false)) {
    return fail_msg(FAIL_PATH, "The path %s contains `..`; give the absolute path without it.",
                    requested);
  }
  char *root;
  if (js_realpath(workspace, &root) != 0) return -1;
  char *normal = path_normalize(requested);
  char *real;
  if (real_path_of(normal, 0, &real) != 0) {
    free(root);
    free(normal);
    return -1;
  }
  if (!is_inside(root, real)) {
    char *how = strcmp(real, normal) == 0 ? xstrdup("") : xsprintf(" (it resolves to %s)", real);
    fail_msg(FAIL_PATH,
             "The path %s is outside the workspace %s%s; only paths inside it can be used.",
             requested, workspace, how);
    free(how);
    free(root);
    free(normal);
    free(real);
    return -1;
  }
  free(root);
  free(normal);
  *out = real;
  return 0;
}

static char *landed_path(int fd) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  return readlink_or_null(link);
}

int create_file_inside(const char *workspace, const char *target, int mode) {
  int fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail_sys(errno, "open", target);
  char *landed = landed_path(fd);
  if (!landed) return fd;
  char *root;
  if (js_realpath(workspace, &root) != 0) {
    close(fd);
    free(landed);
    return -1;
  }
  bool inside = is_inside(root, landed);
  free(root);
  if (inside) {
    free(landed);
    return fd;
  }
  close(fd);
  unlink(landed);
  fail_msg(FAIL_PATH, "The path %s leads outside the workspace %s (to %s).", target, workspace,
           landed);
  free(landed);
  return -1;
}

/* ---------------------------------------------------------------- lines and text */

static Lines split_lines(const char *p, size_t n) {
  Lines lines = {NULL, 0};
  if (n == 0) return lines;
  if (p[n - 1] == '\n') n--;
  size_t cap = 16;
  lines.items = xmalloc(cap * sizeof *lines.items);
  size_t start = 0;
  for (size_t i = 0;; i++) {
    if (i == n || p[i] == '\n') {
      if (lines.count == cap) {
        cap *= 2;
        lines.items = xrealloc(lines.items, cap * sizeof *lines.items);
      }
      lines.items[lines.count++] = (Slice){p + start, i - start};
      start = i + 1;
      if (i == n) break;
    }
  }
  return lines;
}

static void join_lines(Str *out, const Slice *items, size_t count) {
  for (size_t i = 0; i < count; i++) {
    if (i) sb_addc(out, '\n');
    sb_add(out, items[i].p, items[i].n);
  }
}

/* `text` with every "\r\n" made "\n". */
static void un_crlf(Str *out, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n') continue;
    sb_addc(out, p[i]);
  }
}

static const char *find(const char *hay, size_t hn, size_t from, const char *needle, size_t nn) {
  if (nn == 0) return from <= hn ? hay + from : NULL;
  if (from > hn || hn - from < nn) return NULL;
  return memmem(hay + from, hn - from, needle, nn);
}

static size_t count_of(const char *p, size_t n, const char *needle, size_t nn) {
  size_t count = 0;
  for (size_t at = 0;;) {
    const char *hit = find(p, n, at, needle, nn);
    if (!hit) return count;
    count++;
    at = (size_t)(hit - p) + nn;
  }
}

/* The byte offset of JS `text.lastIndexOf('\n', units)`, or -1. */
static long last_newline_at_or_before(const char *p, size_t n, size_t units) {
  size_t limit = u16_to_byte(p, n, units);
  if (limit >= n) limit = n - 1;
  for (size_t i = limit + 1; i-- > 0;)
    if (p[i] == '\n') return (long)i;
  return -1;
}

/* JS `text.slice(0, -1)` on a non-empty text. */
static size_t drop_last_unit(const char *p, size_t n) {
  size_t i = n;
  while (i > 0) {
    i--;
    if (((unsigned char)p[i] & 0xc0) != 0x80) break;
  }
  return i;
}

/* `cat -n` style, capped at 16,000 characters with a hint. */
static void numbered(Str *out, const char *text, size_t n, const char *shown, long first,
                     const char *what) {
  Lines lines = split_lines(text, n);
  Str body = {0};
  for (size_t i = 0; i < lines.count; i++) {
    if (i) sb_addc(&body, '\n');
    sb_addf(&body, "%6ld\t", (long)i + first);
    sb_add(&body, lines.items[i].p, lines.items[i].n);
  }
  if (u16len(body.p ? body.p : "", body.n) > MAX_VIEW_CHARS) {
    long at = last_newline_at_or_before(body.p, body.n, MAX_VIEW_CHARS);
    body.n = at >= 0 ? (size_t)at : drop_last_unit(body.p, body.n);
    body.p[body.n] = '\0';
    sb_addf(&body,
            "\n[Output cut at %d characters (%zu lines in all). Find lines with "
            "`grep -n PATTERN %s` in the terminal, then view them with `view_range`.]",
            MAX_VIEW_CHARS, lines.count, shown);
  }
  sb_addf(out, "Here's the result of running `cat -n` on %s:\n", what ? what : shown);
  sb_add(out, body.p ? body.p : "", body.n);
  sb_addc(out, '\n');
  sb_free(&body);
  free(lines.items);
}

static void edited(Str *out, const char *shown, const char *text, size_t n, long from, long to) {
  Lines lines = split_lines(text, n);
  long start = from - SNIPPET_LINES > 1 ? from - SNIPPET_LINES : 1;
  long end = to + SNIPPET_LINES < (long)lines.count ? to + SNIPPET_LINES : (long)lines.count;
  Str slice = {0};
  if (end > start - 1) join_lines(&slice, lines.items + (start - 1), (size_t)(end - (start - 1)));
  char *what = xsprintf("a snippet of %s", shown);
  sb_addf(out, "The file %s has been edited. ", shown);
  numbered(out, slice.p ? slice.p : "", slice.n, shown, start, what);
  sb_adds(out, "Review the changes and make sure they are as expected. Edit the file again if "
               "necessary.");
  free(what);
  sb_free(&slice);
  free(lines.items);
}

/* ---------------------------------------------------------------- checked opens */

static char *not_regular(const char *shown, const char *kind) {
  return xsprintf("%s is %s, not a regular file or directory; the file editor only opens regular "
                  "files and directories. Use the terminal for it.",
                  shown, kind);
}

static int open_checked(const char *workspace, const char *real, const char *shown, bool dir) {
  int fd = open(real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
                          (dir ? O_DIRECTORY : 0));
  if (fd < 0) {
    int e = errno;
    if (e == ELOOP || e == ENOTDIR) {
      return fail_msg(FAIL_MSG,
                      "%s changed while it was being opened (it is now a symbolic link or not a "
                      "%s); try again.",
                      shown, dir ? "directory" : "file");
    }
    if (e == ENXIO) {
      char *m = not_regular(shown, "a socket");
      fail_msg(FAIL_MSG, "%s", m);
      free(m);
      return -1;
    }
    return fail_sys(e, "open", real);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fail_sys(e, "fstat", NULL);
  }
  const char *kind = S_ISFIFO(st.st_mode)                          ? "a FIFO (named pipe)"
                     : S_ISSOCK(st.st_mode)                        ? "a socket"
                     : S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? "a device"
                                                                   : NULL;
  if (kind) {
    close(fd);
    char *m = not_regular(shown, kind);
    fail_msg(FAIL_MSG, "%s", m);
    free(m);
    return -1;
  }
  if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    close(fd);
    return fail_msg(FAIL_MSG, "%s changed while it was being opened; try again.", shown);
  }
  char *landed = landed_path(fd);
  if (landed) {
    char *root;
    if (js_realpath(workspace, &root) != 0) {
      free(landed);
      close(fd);
      return -1;
    }
    bool inside = is_inside(root, landed);
    free(root);
    free(landed);
    if (!inside) {
      close(fd);
      return fail_msg(FAIL_PATH,
                      "The path %s leads outside the workspace %s; only paths inside it can be "
                      "used.",
                      shown, workspace);
    }
  }
  return fd;
}

typedef struct {
  Str text; /* with \n line endings */
  bool crlf;
  Str raw; /* as on disk (after a BOM, which TextDecoder drops) */
} TextFile;

static void text_file_free(TextFile *f) {
  sb_free(&f->text);
  sb_free(&f->raw);
}

static int read_text(const char *workspace, const char *real, const char *shown, TextFile *out) {
  int fd = open_checked(workspace, real, shown, false);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return fail_sys(e, "fstat", NULL);
  }
  if (st.st_size > MAX_FILE_BYTES) {
    close(fd);
    char size[64];
    snprintf(size, sizeof size, "%.1f", (double)st.st_size / 1024 / 1024);
    return fail_msg(FAIL_MSG,
                    "%s is too large (%s MB; the limit is 10 MB). Use the terminal (grep, head, "
                    "sed) instead.",
                    shown, size);
  }
  Str bytes = {0};
  char buf[65536];
  for (;;) {
    size_t want = MAX_FILE_BYTES + 1 - bytes.n;
    if (want == 0) break;
    ssize_t got = read(fd, buf, want < sizeof buf ? want : sizeof buf);
    if (got < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      sb_free(&bytes);
      return fail_sys(e, "read", NULL);
    }
    if (got == 0) break;
    sb_add(&bytes, buf, (size_t)got);
  }
  close(fd);
  if (bytes.n > MAX_FILE_BYTES) {
    sb_free(&bytes);
    return fail_msg(FAIL_MSG,
                    "%s is too large (the limit is 10 MB). Use the terminal (grep, head, sed) "
                    "instead.",
                    shown);
  }
  const char *data = bytes.p ? bytes.p : "";
  if (memchr(data, 0, bytes.n < 8192 ? bytes.n : 8192) ||
      !utf8_valid((const unsigned char *)data, bytes.n)) {
    sb_free(&bytes);
    return fail_msg(FAIL_MSG,
                    "%s is a binary file (or not UTF-8 text); the file editor only handles text. "
                    "Inspect it in the terminal (e.g. `file`, `xxd | head`).",
                    shown);
  }
  size_t skip = bytes.n >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  memset(out, 0, sizeof *out);
  sb_add(&out->raw, data + skip, bytes.n - skip);
  sb_free(&bytes);
  size_t crlfs = count_of(out->raw.p, out->raw.n, "\r\n", 2);
  size_t lfs = count_of(out->raw.p, out->raw.n, "\n", 1);
  out->crlf = crlfs > 0 && crlfs == lfs;
  if (out->crlf) un_crlf(&out->text, out->raw.p, out->raw.n);
  else sb_add(&out->text, out->raw.p, out->raw.n);
  if (!out->text.p) sb_add(&out->text, "", 0);
  return 0;
}

/* ---------------------------------------------------------------- directory listing */

static const char COLLATION[] =
    " _-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$0123456789aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxX"
    "yYzZ";

/* An approximation of ICU's root collation (what localeCompare does): primary weights for ASCII
 * as Node orders them, letters case-blind first, then lower case before upper case; other
 * control characters ignored; anything else after ASCII by code point. */
static int32_t primary(uint32_t cp, int *tertiary) {
  *tertiary = 0;
  if (cp >= 0x09 && cp <= 0x0d) return (int32_t)cp - 0x09 + 1;
  if (cp < 0x20 || cp == 0x7f) return -1; /* ignorable */
  if (cp < 0x7f) {
    const char *at = strchr(COLLATION, (int)cp);
    int32_t index = (int32_t)(at - COLLATION);
    if (cp >= 'A' && cp <= 'Z') {
      *tertiary = 1;
      index--; /* the rank of its lower case letter */
    }
    return 10 + index;
  }
  return 1000 + (int32_t)cp;
}

static int collate(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  int first_tertiary = 0;
  size_t i = 0, j = 0;
  for (;;) {
    int32_t pa = -1, pb = -1;
    int ta = 0, tb = 0;
    while (i < na && pa < 0) {
      uint32_t cp;
      i += utf8_next(a + i, na - i, &cp);
      pa = primary(cp, &ta);
    }
    while (j < nb && pb < 0) {
      uint32_t cp;
      j += utf8_next(b + j, nb - j, &cp);
      pb = primary(cp, &tb);
    }
    if (pa < 0 && pb < 0) break;
    if (pa < 0) return -1;
    if (pb < 0) return 1;
    if (pa != pb) return pa < pb ? -1 : 1;
    if (!first_tertiary && ta != tb) first_tertiary = ta < tb ? -1 : 1;
  }
  return first_tertiary;
}

typedef struct {
  char *name;
  bool is_dir;
} Entry;

static int compare_entries(const void *x, const void *y) {
  const Entry *a = x, *b = y;
  int c = collate(a->name, b->name);
  return c ? c : strcmp(a->name, b->name); /* readdir order (libuv sorts by strcmp) */
}

/* The entries of a directory through a checked descriptor; -1 (g_fail) only when `top`. */
static int entries_of(const char *workspace, const char *dir, const char *shown, bool top,
                      Entry **out, size_t *count) {
  *out = NULL;
  *count = 0;
  int fd = open_checked(workspace, dir, shown, true);
  if (fd < 0) {
    if (top) return -1;
    fail_clear();
    return 0;
  }
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return 0;
  }
  size_t cap = 0;
  Entry *items = NULL;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      is_dir = fstatat(dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISDIR(st.st_mode);
    }
    if (*count == cap) {
      cap = cap ? cap * 2 : 32;
      items = xrealloc(items, cap * sizeof *items);
    }
    items[(*count)++] = (Entry){xstrdup(entry->d_name), is_dir};
  }
  closedir(d);
  if (*count) qsort(items, *count, sizeof *items, compare_entries);
  *out = items;
  return 0;
}

static void free_entries(Entry *items, size_t count) {
  for (size_t i = 0; i < count; i++) free(items[i].name);
  free(items);
}

static int list_directory(const char *workspace, const char *real, const char *shown, Str *out) {
  Entry *top;
  size_t ntop;
  if (entries_of(workspace, real, shown, true, &top, &ntop) != 0) return -1;
  Str lines = {0};
  sb_addf(&lines, "%s/", shown);
  size_t hidden = 0;
  for (size_t i = 0; i < ntop; i++) {
    if (top[i].name[0] == '.') {
      hidden++;
      continue;
    }
    char *display = path_join2(shown, top[i].name);
    sb_addc(&lines, '\n');
    sb_adds(&lines, display);
    if (top[i].is_dir) {
      sb_addc(&lines, '/');
      char *sub = path_join2(real, top[i].name);
      Entry *children;
      size_t nchildren;
      entries_of(workspace, sub, display, false, &children, &nchildren);
      for (size_t k = 0; k < nchildren; k++) {
        if (children[k].name[0] == '.') {
          hidden++;
          continue;
        }
        char *child = path_join2(display, children[k].name);
        sb_addc(&lines, '\n');
        sb_adds(&lines, child);
        if (children[k].is_dir) sb_addc(&lines, '/');
        free(child);
      }
      free_entries(children, nchildren);
      free(sub);
    }
    free(display);
  }
  free_entries(top, ntop);
  sb_addf(out, "Here's the files and directories up to 2 levels deep in %s, excluding hidden "
               "items:\n",
          shown);
  sb_add(out, lines.p, lines.n);
  sb_free(&lines);
  if (u16len(out->p, out->n) > MAX_VIEW_CHARS) {
    long at = last_newline_at_or_before(out->p, out->n, MAX_VIEW_CHARS);
    out->n = at >= 0 ? (size_t)at : drop_last_unit(out->p, out->n);
    out->p[out->n] = '\0';
    sb_addf(out,
            "\n[Listing cut at %d characters; use `find %s -maxdepth 2` or `ls` in the "
            "terminal.]",
            MAX_VIEW_CHARS, shown);
  }
  if (hidden > 0) {
    sb_addf(out,
            "\n\n%zu hidden files/directories were left out; use `ls -la %s` to see them.",
            hidden, shown);
  }
  return 0;
}

/* ---------------------------------------------------------------- writes */

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A temporary file in the same directory, created by create_file_inside, then renamed. */
static int write_atomic(const char *workspace, const char *file, const char *content, size_t n) {
  char *dir = path_dirname(file);
  char *base = path_basename(file);
  char hex[9];
  random_hex(hex, 4);
  char *name = xsprintf(".%s.%s.tmp", base, hex);
  char *temp = path_join2(dir, name);
  free(dir);
  free(base);
  free(name);
  struct stat st;
  bool has_mode = lstat(file, &st) == 0;
  int fd = create_file_inside(workspace, temp, 0644);
  if (fd < 0) {
    free(temp);
    return -1;
  }
  int rc = 0;
  if (write_all(fd, content, n) != 0) rc = fail_sys(errno, "write", NULL);
  else if (has_mode && fchmod(fd, st.st_mode & 07777) != 0) rc = fail_sys(errno, "fchmod", NULL);
  close(fd);
  if (rc == 0 && rename(temp, file) != 0) {
    int e = errno;
    char *what = xsprintf("%s' -> '%s", temp, file);
    rc = fail_sys(e, "rename", what);
    free(what);
  }
  if (rc != 0) unlink(temp);
  free(temp);
  return rc;
}

static History *history_of(Editor *e, const char *real, bool make) {
  for (History *h = e->history; h; h = h->next)
    if (strcmp(h->real, real) == 0) return h;
  if (!make) return NULL;
  History *h = xmalloc(sizeof *h);
  memset(h, 0, sizeof *h);
  h->real = xstrdup(real);
  h->next = e->history;
  e->history = h;
  return h;
}

static int save(Editor *e, const char *real, TextFile *file, const char *text, size_t n) {
  int rc;
  if (file->crlf) {
    Str crlf = {0};
    for (size_t i = 0; i < n; i++) {
      if (text[i] == '\n') sb_addc(&crlf, '\r');
      sb_addc(&crlf, text[i]);
    }
    rc = write_atomic(e->workspace, real, crlf.p ? crlf.p : "", crlf.n);
    sb_free(&crlf);
  } else rc = write_atomic(e->workspace, real, text, n);
  if (rc != 0) return rc;
  History *h = history_of(e, real, true);
  if (h->count == UNDO_STEPS) {
    sb_free(&h->steps[0]);
    memmove(h->steps, h->steps + 1, (UNDO_STEPS - 1) * sizeof h->steps[0]);
    h->count--;
  }
  Str step = {0};
  sb_add(&step, file->raw.p ? file->raw.p : "", file->raw.n);
  h->steps[h->count++] = step;
  return 0;
}

/* ---------------------------------------------------------------- commands */

static const char *str_param(const JVal *params, const char *key, size_t *n) {
  const JVal *v = json_get(params, key);
  if (!v || v->type != J_STR) {
    *n = 0;
    return "";
  }
  *n = v->len;
  return v->str;
}

static size_t line_of(const char *text, size_t index) {
  size_t line = 1;
  for (size_t i = 0; i < index; i++)
    if (text[i] == '\n') line++;
  return line;
}

static int str_replace(Editor *e, const char *real, const char *shown, const JVal *params,
                       Str *out) {
  TextFile file;
  if (read_text(e->workspace, real, shown, &file) != 0) return -1;
  size_t on, nn;
  const char *old_str = str_param(params, "old_str", &on);
  const char *new_str = str_param(params, "new_str", &nn);
  Str old_text = {0}, new_text = {0};
  if (file.crlf) {
    un_crlf(&old_text, old_str, on);
    un_crlf(&new_text, new_str, nn);
  } else {
    sb_add(&old_text, old_str, on);
    sb_add(&new_text, new_str, nn);
  }
  int rc = 0;
  size_t *found = NULL, nfound = 0, capfound = 0;
  if (old_text.n == 0) {
    rc = fail_msg(FAIL_MSG, "`old_str` is empty; give the exact text to replace.");
    goto done;
  }
  if (old_text.n == new_text.n && memcmp(old_text.p, new_text.p, old_text.n) == 0) {
    rc = fail_msg(FAIL_MSG, "No replacement was performed: `new_str` is the same as `old_str`.");
    goto done;
  }
  for (int attempt = 0; attempt < 2; attempt++) {
    nfound = 0;
    for (size_t at = 0;;) {
      const char *hit = find(file.text.p, file.text.n, at, old_text.p, old_text.n);
      if (!hit) break;
      if (nfound == capfound) {
        capfound = capfound ? capfound * 2 : 8;
        found = xrealloc(found, capfound * sizeof *found);
      }
      found[nfound++] = (size_t)(hit - file.text.p);
      at = (size_t)(hit - file.text.p) + old_text.n;
    }
    if (attempt == 1 || nfound > 0) break;
    size_t a, b;
    js_trim(old_text.p, old_text.n, &a, &b);
    if (a == b || (a == 0 && b == old_text.n)) break; /* blank, or nothing to trim */
    Str trimmed = {0};
    sb_add(&trimmed, old_text.p + a, b - a);
    sb_free(&old_text);
    old_text = trimmed;
    js_trim(new_text.p ? new_text.p : "", new_text.n, &a, &b);
    Str trimmed_new = {0};
    sb_add(&trimmed_new, new_text.p ? new_text.p + a : "", b - a);
    sb_free(&new_text);
    new_text = trimmed_new;
  }
  if (nfound == 0) {
    rc = fail_msg(FAIL_MSG, "No replacement was performed, old_str `%.*s` did not appear verbatim in %s.",
                  (int)on, old_str, shown);
    goto done;
  }
  if (nfound > 1) {
    Str lines = {0};
    size_t last = 0, line = 1, counted = 0;
    for (size_t i = 0; i < nfound; i++) {
      /* ascending: count line breaks from the previous hit on (linear, not quadratic) */
      line += count_of(file.text.p + counted, found[i] - counted, "\n", 1);
      counted = found[i];
      if (i > 0 && line == last) continue; /* a Set: ascending, so only neighbours repeat */
      if (lines.n) sb_adds(&lines, ", ");
      sb_addf(&lines, "%zu", line);
      last = line;
    }
    rc = fail_msg(FAIL_MSG,
                  "No replacement was performed. Multiple occurrences of old_str `%.*s` in lines "
                  "[%s]. Please ensure it is unique.",
                  (int)on, old_str, lines.p);
    sb_free(&lines);
    goto done;
  }
  {
    size_t at = found[0];
    Str text = {0};
    sb_add(&text, file.text.p, at);
    sb_add(&text, new_text.p ? new_text.p : "", new_text.n);
    sb_add(&text, file.text.p + at + old_text.n, file.text.n - at - old_text.n);
    if (!text.p) sb_add(&text, "", 0);
    rc = save(e, real, &file, text.p, text.n);
    if (rc == 0) {
      size_t line = line_of(file.text.p, at);
      size_t new_lines = 1 + count_of(new_text.p ? new_text.p : "", new_text.n, "\n", 1);
      edited(out, shown, text.p, text.n, (long)line, (long)(line + new_lines - 1));
    }
    sb_free(&text);
  }
done:
  free(found);
  sb_free(&old_text);
  sb_free(&new_text);
  text_file_free(&file);
  return rc;
}

/* JS Array.prototype.slice index handling for an integer. */
static size_t slice_index(double v, size_t len) {
  if (isnan(v)) return 0;
  double t = trunc(v);
  if (t < 0) {
    t += (double)len;
    return t < 0 ? 0 : (size_t)t;
  }
  return t > (double)len ? len : (size_t)t;
}

static int insert(Editor *e, const char *real, const char *shown, const JVal *params, Str *out) {
  TextFile file;
  if (read_text(e->workspace, real, shown, &file) != 0) return -1;
  const JVal *line_v = json_get(params, "insert_line");
  double after = line_v && line_v->type == J_NUM ? line_v->num : 0;
  /* the service sends an integer >= 0; anything else must still not overflow a cast below */
  if (after < -1e15) after = -1e15;
  Lines lines = split_lines(file.text.p, file.text.n);
  int rc = 0;
  if (after > (double)lines.count) {
    Str shown_after = {0};
    js_number(&shown_after, after);
    rc = fail_msg(FAIL_MSG,
                  "Invalid `insert_line` %s: the file has %zu lines, so it must be between 0 and "
                  "%zu.",
                  shown_after.p, lines.count, lines.count);
    sb_free(&shown_after);
    free(lines.items);
    text_file_free(&file);
    return rc;
  }
  size_t nn;
  const char *new_str = str_param(params, "new_str", &nn);
  Str inserted_text = {0};
  if (file.crlf) un_crlf(&inserted_text, new_str, nn);
  else sb_add(&inserted_text, new_str, nn);
  Lines inserted = split_lines(inserted_text.p ? inserted_text.p : "", inserted_text.n);
  Slice empty = {"", 0};
  const Slice *added = inserted.count ? inserted.items : &empty;
  size_t nadded = inserted.count ? inserted.count : 1;
  size_t cut = slice_index(after, lines.count);
  Str text = {0};
  join_lines(&text, lines.items, cut);
  if (cut > 0) sb_addc(&text, '\n');
  join_lines(&text, added, nadded);
  if (cut < lines.count) {
    sb_addc(&text, '\n');
    join_lines(&text, lines.items + cut, lines.count - cut);
  }
  if (file.text.n == 0 || file.text.p[file.text.n - 1] == '\n') sb_addc(&text, '\n');
  rc = save(e, real, &file, text.p, text.n);
  if (rc == 0) edited(out, shown, text.p, text.n, (long)after + 1, (long)after + (long)nadded);
  sb_free(&text);
  free(inserted.items);
  sb_free(&inserted_text);
  free(lines.items);
  text_file_free(&file);
  return rc;
}

static int view_file(TextFile *file, const char *shown, const JVal *range, Str *out) {
  Lines lines = split_lines(file->text.p, file->text.n);
  int rc = 0;
  if (!range) {
    if (lines.count == 0) sb_addf(out, "The file %s is empty.", shown);
    else numbered(out, file->text.p, file->text.n, shown, 1, NULL);
    free(lines.items);
    return 0;
  }
  const JVal *a = range->type == J_ARR && range->count > 0 ? range->items[0] : NULL;
  const JVal *b = range->type == J_ARR && range->count > 1 ? range->items[1] : NULL;
  double start = a && a->type == J_NUM ? a->num : NAN;
  double requested_end = b && b->type == J_NUM ? b->num : NAN;
  Str shown_range = {0};
  json_stringify(&shown_range, range);
  double len = (double)lines.count;
  if (start < 1 || start > len) {
    rc = fail_msg(FAIL_MSG, "Invalid `view_range` %s: its first element should be between 1 and %zu.",
                  shown_range.p, lines.count);
    goto done;
  }
  double end = requested_end == -1 ? len : (requested_end < len ? requested_end : len);
  if (end < start) {
    Str s = {0};
    js_number(&s, start);
    rc = fail_msg(FAIL_MSG,
                  "Invalid `view_range` %s: its second element should be -1 or at least %s.",
                  shown_range.p, s.p);
    sb_free(&s);
    goto done;
  }
  if (requested_end > len) sb_addf(out, "NOTE: the file has only %zu lines.\n", lines.count);
  {
    size_t from = slice_index(start - 1, lines.count), to = slice_index(end, lines.count);
    Str slice = {0};
    if (to > from) join_lines(&slice, lines.items + from, to - from);
    numbered(out, slice.p ? slice.p : "", slice.n, shown, (long)start, NULL);
    sb_free(&slice);
  }
done:
  sb_free(&shown_range);
  free(lines.items);
  return rc;
}

static int dispatch(Editor *e, const JVal *params, const char *command, const char *path,
                    Str *out) {
  const char *ws = e->workspace;
  char *real;
  if (resolve_workspace_path(ws, path, &real) != 0) return -1;
  char *shown = path_normalize(path);
  struct stat st;
  bool exists = lstat(real, &st) == 0;
  int rc = 0;
  if (strcmp(command, "create") == 0) {
    struct stat other;
    if (exists || lstat(shown, &other) == 0) {
      rc = fail_msg(FAIL_MSG,
                    "File already exists at: %s. `create` cannot overwrite files; use "
                    "`str_replace` to change it.",
                    shown);
    } else {
      char *dir = path_dirname(real);
      rc = mkdir_recursive(dir);
      free(dir);
      size_t n;
      const char *text = str_param(params, "file_text", &n);
      if (rc == 0) rc = write_atomic(ws, real, text, n);
      if (rc == 0) sb_addf(out, "File created successfully at: %s", shown);
    }
  } else if (!exists) {
    rc = fail_msg(FAIL_MSG, "The path %s does not exist. Please provide a valid path.", shown);
  } else if (S_ISDIR(st.st_mode)) {
    if (strcmp(command, "view") != 0) {
      rc = fail_msg(FAIL_MSG, "The path %s is a directory; only `view` works on directories.",
                    shown);
    } else if (json_get(params, "view_range") && json_get(params, "view_range")->type != J_NULL) {
      rc = fail_msg(FAIL_MSG, "`view_range` cannot be used with a directory.");
    } else rc = list_directory(ws, real, shown, out);
  } else if (strcmp(command, "view") == 0) {
    TextFile file;
    rc = read_text(ws, real, shown, &file);
    if (rc == 0) {
      const JVal *range = json_get(params, "view_range");
      rc = view_file(&file, shown, range && range->type != J_NULL ? range : NULL, out);
      text_file_free(&file);
    }
  } else if (strcmp(command, "str_replace") == 0) {
    rc = str_replace(e, real, shown, params, out);
  } else if (strcmp(command, "insert") == 0) {
    rc = insert(e, real, shown, params, out);
  } else if (strcmp(command, "undo_edit") == 0) {
    History *h = history_of(e, real, false);
    if (!h || h->count == 0) {
      rc = fail_msg(FAIL_MSG, "No edit history found for %s.", shown);
    } else {
      Str previous = h->steps[--h->count];
      rc = write_atomic(ws, real, previous.p ? previous.p : "", previous.n);
      sb_free(&previous);
      TextFile restored;
      if (rc == 0) rc = read_text(ws, real, shown, &restored);
      if (rc == 0) {
        sb_addf(out, "Last edit to %s undone successfully. ", shown);
        numbered(out, restored.text.p, restored.text.n, shown, 1, NULL);
        text_file_free(&restored);
      }
    }
  } else {
    /* The service validates commands; the reference would answer `undefined` (no output). */
    rc = fail_sys(EINVAL, "editor", command);
  }
  free(real);
  free(shown);
  return rc;
}

int editor_run(Editor *e, const JVal *params, char **output, bool *is_error) {
  fail_clear();
  const JVal *command = json_get(params, "command");
  const JVal *path = json_get(params, "path");
  if (!command || command->type != J_STR || !path || path->type != J_STR) {
    return fail_msg(FAIL_SYS, "the editor needs a string `command` and `path`");
  }
  Str out = {0};
  int rc = dispatch(e, params, command->str, path->str, &out);
  if (rc == 0) {
    *output = sb_take(&out);
    *is_error = false;
    return 0;
  }
  sb_free(&out);
  if (g_fail.type == FAIL_MSG || g_fail.type == FAIL_PATH) {
    *output = xstrdup(g_fail.msg);
    *is_error = true;
    fail_clear();
    return 0;
  }
  if (g_fail.err == ELOOP) {
    *output = xsprintf("%s is a symbolic link the file editor does not follow; use its target.",
                       path->str);
    *is_error = true;
    fail_clear();
    return 0;
  }
  if (g_fail.err == EACCES || g_fail.err == EPERM) {
    *output = xsprintf("Permission denied: %s.", path->str);
    *is_error = true;
    fail_clear();
    return 0;
  }
  return -1;
}
