/* The persistent shell: bash-session.ts, terminal-host.ts, terminal-output.ts and
 * process-tree.ts (the reference), on one poll(2) loop. */
#include "sandbox.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDLE_OUTPUT (256 * 1024)
#define EXIT_FLUSH_MS 100
#define MAX_SENTINEL_CHARS (64 * 1024)
#define MAX_ESCAPE_CARRY 512
#define MAX_LOG_BYTES (10 * 1024 * 1024)
#define START_TIMEOUT_MS 10000

/* ================================================================ terminal-output.ts */

/* The end of a match of ANSI at p[i] (on an ESC), or 0. */
static size_t ansi_match(const char *p, size_t n, size_t i) {
  if (i + 1 >= n) return 0;
  unsigned char c = (unsigned char)p[i + 1];
  if (c == '[') {
    size_t j = i + 2;
    while (j < n && (unsigned char)p[j] >= 0x30 && (unsigned char)p[j] <= 0x3f) j++;
    while (j < n && (unsigned char)p[j] >= 0x20 && (unsigned char)p[j] <= 0x2f) j++;
    if (j < n && (unsigned char)p[j] >= 0x40 && (unsigned char)p[j] <= 0x7e) return j + 1;
    return 0;
  }
  if (c == ']') {
    size_t j = i + 2;
    while (j < n && p[j] != '\x07' && p[j] != '\x1b') j++;
    if (j < n && p[j] == '\x07') return j + 1;
    if (j + 1 < n && p[j] == '\x1b' && p[j + 1] == '\\') return j + 2;
    return 0;
  }
  if (c == '(' || c == ')') {
    if (i + 2 < n && isalnum((unsigned char)p[i + 2])) return i + 3;
    return 0;
  }
  if ((c >= 0x40 && c <= 0x5a) || c == '\\' || c == '^' || c == '_') return i + 2;
  return 0;
}

/* Whether p[i..n) (i on an ESC) is what PARTIAL_ANSI matches through the end. */
static bool ansi_partial(const char *p, size_t n, size_t i) {
  size_t j = i + 1;
  if (j == n) return true;
  unsigned char c = (unsigned char)p[j];
  if (c == '[') {
    j++;
    while (j < n && (unsigned char)p[j] >= 0x30 && (unsigned char)p[j] <= 0x3f) j++;
    while (j < n && (unsigned char)p[j] >= 0x20 && (unsigned char)p[j] <= 0x2f) j++;
    return j == n;
  }
  if (c == ']') {
    j++;
    while (j < n && p[j] != '\x07' && p[j] != '\x1b') j++;
    if (j < n && p[j] == '\x1b') j++;
    return j == n;
  }
  if (c == '(' || c == ')') return j + 1 == n;
  return false;
}

static bool is_control(unsigned char c) {
  return c <= 0x08 || c == 0x0b || c == 0x0c || (c >= 0x0e && c <= 0x1f) || c == 0x7f;
}

static void drop_controls(Str *out, const char *p, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_control((unsigned char)p[i])) continue;
    sb_add(out, p + run, i - run);
    run = i + 1;
  }
  sb_add(out, p + run, n - run);
}

typedef struct {
  Str carry;
} Ansi;

static void ansi_push(Ansi *a, const char *chunk, size_t n, Str *out) {
  Str joined = {0};
  sb_add(&joined, a->carry.p ? a->carry.p : "", a->carry.n);
  sb_add(&joined, chunk, n);
  sb_clear(&a->carry);
  Str text = {0};
  const char *p = joined.p ? joined.p : "";
  size_t len = joined.n, run = 0;
  for (size_t i = 0; i < len;) {
    if (p[i] == '\x1b') {
      size_t end = ansi_match(p, len, i);
      if (end) {
        sb_add(&text, p + run, i - run);
        i = run = end;
        continue;
      }
    }
    i++;
  }
  sb_add(&text, p + run, len - run);
  sb_free(&joined);
  const char *t = text.p ? text.p : "";
  size_t keep = text.n;
  for (size_t i = 0; i < text.n; i++) {
    if (t[i] == '\x1b' && ansi_partial(t, text.n, i)) {
      if (u16len(t + i, text.n - i) < MAX_ESCAPE_CARRY) {
        sb_add(&a->carry, t + i, text.n - i);
        keep = i;
      }
      break;
    }
  }
  drop_controls(out, t, keep);
  sb_free(&text);
}

static void ansi_flush(Ansi *a, Str *out) {
  drop_controls(out, a->carry.p ? a->carry.p : "", a->carry.n);
  sb_clear(&a->carry);
}

/* `\r\n` becomes `\n`; a line redrawn with `\r` keeps only its last version. */
static void clean_lines(Str *out, const char *p, size_t n) {
  if (!memchr(p, '\r', n)) return sb_add(out, p, n);
  /* /\r+\n/g → \n */
  Str step = {0};
  for (size_t i = 0; i < n;) {
    if (p[i] == '\r') {
      size_t j = i;
      while (j < n && p[j] == '\r') j++;
      if (j < n && p[j] == '\n') {
        sb_addc(&step, '\n');
        i = j + 1;
        continue;
      }
      sb_add(&step, p + i, j - i);
      i = j;
      continue;
    }
    sb_addc(&step, p[i++]);
  }
  const char *s = step.p ? step.p : "";
  size_t start = 0;
  for (size_t i = 0;; i++) {
    if (i == step.n || s[i] == '\n') {
      const char *line = s + start;
      size_t len = i - start;
      if (start > 0) sb_addc(out, '\n');
      if (!memchr(line, '\r', len)) sb_add(out, line, len);
      else {
        /* the last non-empty piece between \r */
        size_t end = len;
        for (;;) {
          size_t b = end;
          while (b > 0 && line[b - 1] != '\r') b--;
          if (end > b) {
            sb_add(out, line + b, end - b);
            break;
          }
          if (b == 0) break;
          end = b - 1;
        }
      }
      if (i == step.n) break;
      start = i + 1;
    }
  }
  sb_free(&step);
}

typedef struct {
  const char *workspace;
  size_t max_chars;
  Str whole, head, tail;
  size_t whole_units, tail_units;
  size_t total;
  bool cut;
  int log_fd;
  char *log_path;
  size_t log_bytes;
  bool log_full;
} Collector;

static void collector_init(Collector *c, const char *workspace, size_t max_chars) {
  memset(c, 0, sizeof *c);
  c->workspace = workspace;
  c->max_chars = max_chars;
  c->log_fd = -1;
}

static size_t collector_half(const Collector *c) { return c->max_chars / 2; }


static void collector_open_log(Collector *c) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char hex[7];
  random_hex(hex, 3);
  char name[96];
  snprintf(name, sizeof name, "terminal-%04d-%02d-%02dT%02d-%02d-%02d-%03dZ-%s.log",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(tv.tv_usec / 1000), hex);
  char *dir = path_join2(c->workspace, ".openhands/outputs");
  char *wanted = path_join2(dir, name);
  free(dir);
  char *target;
  /* Checked before anything is created: `.openhands` may be a symlink the agent made. */
  int rc = resolve_workspace_path(c->workspace, wanted, &target);
  free(wanted);
  if (rc != 0) {
    fail_clear();
    return;
  }
  char *parent = path_dirname(target);
  rc = mkdir_recursive(parent);
  free(parent);
  int fd = rc == 0 ? create_file_inside(c->workspace, target, 0644) : -1;
  fail_clear();
  if (fd < 0) {
    free(target);
    return;
  }
  c->log_fd = fd;
  c->log_path = target;
}

static void collector_write_log(Collector *c, const char *p, size_t n) {
  if (c->log_fd < 0 || c->log_full) return;
  if (c->log_bytes + n > MAX_LOG_BYTES) {
    n = MAX_LOG_BYTES - c->log_bytes;
    c->log_full = true;
  }
  while (n > 0) {
    ssize_t w = write(c->log_fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      c->log_full = true;
      return;
    }
    p += w;
    n -= (size_t)w;
    c->log_bytes += (size_t)w;
  }
  if (c->log_full) {
    static const char note[] = "\n[... output log truncated here ...]\n";
    ssize_t ignored = write(c->log_fd, note, sizeof note - 1);
    (void)ignored;
  }
}

/* The last `units` UTF-16 units of s (as JS `slice(-units)`). */
static void keep_last_units(Str *s, size_t *s_units, size_t units) {
  if (*s_units <= units) return;
  size_t drop = u16_to_byte(s->p, s->n, *s_units - units);
  /* inside a surrogate pair: keep the whole character */
  memmove(s->p, s->p + drop, s->n - drop);
  s->n -= drop;
  s->p[s->n] = '\0';
  *s_units = u16len(s->p, s->n);
}

static void collector_push(Collector *c, const char *p, size_t n) {
  if (n == 0) return;
  size_t units = u16len(p, n);
  c->total += units;
  size_t half = collector_half(c);
  if (!c->cut) {
    sb_add(&c->whole, p, n);
    c->whole_units += units;
    if (c->whole_units <= c->max_chars) return;
    c->cut = true;
    collector_open_log(c);
    collector_write_log(c, c->whole.p, c->whole.n);
    size_t head_end = u16_to_byte(c->whole.p, c->whole.n, half);
    sb_add(&c->head, c->whole.p, head_end);
    sb_add(&c->tail, c->whole.p, c->whole.n);
    c->tail_units = c->whole_units;
    keep_last_units(&c->tail, &c->tail_units, half);
    sb_free(&c->whole);
    c->whole_units = 0;
    return;
  }
  collector_write_log(c, p, n);
  sb_add(&c->tail, p, n);
  c->tail_units += units;
  if (c->tail_units > 2 * half) keep_last_units(&c->tail, &c->tail_units, half);
}

typedef struct {
  char *text;
  char *full_output_path; /* NULL when not cut or not saved */
} Collected;

static Collected collector_finish(Collector *c) {
  Collected result = {NULL, NULL};
  if (c->log_fd >= 0) close(c->log_fd);
  c->log_fd = -1;
  Str out = {0};
  if (!c->cut) {
    clean_lines(&out, c->whole.p ? c->whole.p : "", c->whole.n);
    sb_free(&c->whole);
    result.text = sb_take(&out);
    return result;
  }
  size_t half = collector_half(c);
  /* head: ends at a line break when one is in its second half */
  const char *h = c->head.p ? c->head.p : "";
  size_t hn = c->head.n, h_units = u16len(h, hn);
  for (size_t i = hn; i-- > 0;) {
    if (h[i] == '\n') {
      if ((double)u16len(h, i) >= (double)h_units / 2) hn = i + 1;
      break;
    }
  }
  /* tail: its last `half` units, starting at a line start when one is in its first half */
  keep_last_units(&c->tail, &c->tail_units, half);
  const char *t = c->tail.p ? c->tail.p : "";
  size_t tn = c->tail.n, t_start = 0;
  const char *nl = memchr(t, '\n', tn);
  if (nl && (double)u16len(t, (size_t)(nl - t)) < (double)c->tail_units / 2) t_start = (size_t)(nl - t) + 1;
  size_t omitted = c->total - u16len(h, hn) - u16len(t + t_start, tn - t_start);
  clean_lines(&out, h, hn);
  if (!(hn > 0 && h[hn - 1] == '\n')) sb_addc(&out, '\n');
  sb_addf(&out, "[... %zu characters omitted. ", omitted);
  if (c->log_path) {
    sb_adds(&out, "The full output");
    if (c->log_full) sb_addf(&out, " (its first %d bytes)", MAX_LOG_BYTES);
    sb_addf(&out,
            " is in %s: search it with `grep -n` or read parts with `sed -n 'START,ENDp'`.",
            c->log_path);
  } else sb_adds(&out, "The full output could not be saved.");
  sb_adds(&out, " ...]\n");
  clean_lines(&out, t + t_start, tn - t_start);
  sb_free(&c->head);
  sb_free(&c->tail);
  result.text = sb_take(&out);
  result.full_output_path = c->log_path;
  c->log_path = NULL;
  return result;
}

/* ================================================================ process-tree.ts */

typedef struct {
  int pid, ppid, pgid, sid;
  char state;
} Proc;

static size_t list_processes(Proc **out) {
  size_t count = 0, cap = 64;
  Proc *all = xmalloc(cap * sizeof *all);
  DIR *d = opendir("/proc");
  if (!d) {
    *out = all;
    return 0;
  }
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    const char *name = entry->d_name;
    bool digits = *name != '\0';
    for (const char *c = name; *c; c++)
      if (*c < '0' || *c > '9') digits = false;
    if (!digits) continue;
    char path[300], buf[1024];
    snprintf(path, sizeof path, "/proc/%s/stat", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0) continue;
    buf[got] = '\0';
    char *close_paren = strrchr(buf, ')');
    if (!close_paren || close_paren[1] == '\0') continue;
    Proc p = {atoi(name), 0, 0, 0, '?'};
    if (sscanf(close_paren + 2, "%c %d %d %d", &p.state, &p.ppid, &p.pgid, &p.sid) != 4) continue;
    if (count == cap) {
      cap *= 2;
      all = xrealloc(all, cap * sizeof *all);
    }
    all[count++] = p;
  }
  closedir(d);
  *out = all;
  return count;
}

static int by_pid(const void *a, const void *b) {
  int x = ((const Proc *)a)->pid, y = ((const Proc *)b)->pid;
  return (x > y) - (x < y);
}

/* Processes in the leader's group or session, and its descendants; and every descendant of this
 * program but itself: orphans (double-forked, `setsid` daemons) are adopted by it, a subreaper
 * (PID 1 inside bubblewrap), and the only other children it has are shells. A breadth-first walk
 * over children lists: linear after one sort, whatever the depth of a fork chain. */
static size_t members_of(int leader, Proc **out) {
  Proc *all;
  size_t n = list_processes(&all);
  size_t slots = n ? n : 1;
  qsort(all, n, sizeof *all, by_pid);
  long *first_child = xmalloc(slots * sizeof *first_child);
  long *next_sibling = xmalloc(slots * sizeof *next_sibling);
  bool *in = xmalloc(slots * sizeof *in);
  size_t *queue = xmalloc(slots * sizeof *queue);
  for (size_t i = 0; i < n; i++) first_child[i] = next_sibling[i] = -1;
  for (size_t i = 0; i < n; i++) {
    Proc key = {all[i].ppid, 0, 0, 0, 0};
    Proc *parent = bsearch(&key, all, n, sizeof *all, by_pid);
    if (!parent) continue;
    size_t p = (size_t)(parent - all);
    next_sibling[i] = first_child[p];
    first_child[p] = (long)i;
  }
  size_t head = 0, tail = 0;
  int self = (int)getpid();
  for (size_t i = 0; i < n; i++) {
    in[i] = all[i].pid != self && (all[i].pgid == leader || all[i].sid == leader ||
                                   all[i].pid == leader || all[i].ppid == self);
    if (in[i]) queue[tail++] = i;
  }
  while (head < tail) {
    for (long c = first_child[queue[head++]]; c >= 0; c = next_sibling[c]) {
      if (in[c] || all[c].pid == self) continue;
      in[c] = true;
      queue[tail++] = (size_t)c;
    }
  }
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (in[i]) all[m++] = all[i];
  free(first_child);
  free(next_sibling);
  free(in);
  free(queue);
  *out = all;
  return m;
}

typedef struct Session Session;
static void pump(Session *s, int ms);

/* SIGKILLs every member but the leader, until none is left: a process may fork between the
 * listing and the kill (up to 100 rounds). */
static void kill_members(Session *s, int leader) {
  for (int round = 0; round < 100; round++) {
    Proc *ps;
    size_t n = members_of(leader, &ps);
    size_t killed = 0;
    for (size_t i = 0; i < n; i++) {
      if (ps[i].pid == leader || ps[i].state == 'Z') continue;
      killed++;
      kill(ps[i].pid, SIGKILL);
    }
    free(ps);
    if (killed == 0) return;
    pump(s, 5);
  }
}

static void kill_process_tree(Session *s, int leader, bool leader_alive) {
  if (access("/proc/self/stat", F_OK) != 0) {
    if (leader_alive) kill(-leader, SIGKILL);
    return;
  }
  /* a dead leader's pid may be taken again: only what is still in its group or session, or ours */
  if (leader_alive) kill(leader, SIGSTOP); /* the shell starts nothing new meanwhile */
  kill_members(s, leader);
  if (!leader_alive) return;
  kill(leader, SIGCONT);
  Proc *ps;
  for (int waited = 0; waited < 200; waited += 10) {
    size_t n = members_of(leader, &ps);
    bool children = false;
    for (size_t i = 0; i < n; i++)
      if (ps[i].pid != leader && ps[i].ppid == leader) children = true;
    free(ps);
    if (!children) break;
    pump(s, 10);
  }
  kill(-leader, SIGKILL);
  kill(leader, SIGKILL);
}

/* ================================================================ bash-session.ts */

typedef enum { END_COMPLETED, END_EXITED, END_RUNNING, END_REFUSED, END_CANCELLED } EndStatus;

typedef struct {
  EndStatus status;
  int exit_code;
  const char *reason; /* stoppedBy or refusal */
} CallEnd;

typedef struct TerminalHost TerminalHost;

typedef struct {
  int64_t started;
  Collector collector;
  int64_t idle_deadline; /* -1: none */
  int64_t hard_deadline;
  bool has_timeout;
  Str notes; /* JSON strings, comma-separated, from execute */
} Call;

struct Session {
  TerminalHost *host;
  char nonce[25];
  char *start_token, *end_token;
  char *control_dir, *command_file, *stdin_fifo;
  Ansi ansi;
  int pid;
  int in_fd, out_fd, err_fd, watchdog_fd, fifo_fd;
  Str inbuf;
  Utf8Stream out_dec, err_dec;
  Str scan;
  Str idle;
  size_t idle_units;
  bool has_unreported;
  int unreported_exit;
  Call *call;
  bool running, killed, exited, booting;
  int exit_status;
  char *last_cwd;
  int64_t limit_deadline, flush_deadline;
  bool limit_hit, paused;
};

/* A request of the queue (serialised like TerminalHost's promise chain). */
typedef struct Request {
  double id;
  char *command;
  size_t command_len;
  bool is_input, reset, has_timeout;
  double timeout_ms;
  bool aborted;
  Str notes; /* JSON strings from run(), comma-separated */
  struct Request *next;
} Request;

struct TerminalHost {
  TerminalOptions opt;
  TerminalReply reply;
  Session *session;
  Request *queue; /* head: the running request once `current` is set */
  Request *current;
};

static void session_emit(Session *s, const char *raw, size_t n);
static void call_end(Session *s, CallEnd how);
static void host_finish(TerminalHost *t, Session *s, CallEnd how, const char *output,
                        const char *full_output_path, int64_t waited, bool idle,
                        const Str *later_notes);

static double opt_or(double v, double fallback) { return isnan(v) ? fallback : v; }

/* setTimeout's delay: below 1 or above 2^31-1 it is 1 ms. */
static int64_t timer_delay(double ms) {
  if (!(ms >= 1) || ms > 2147483647.0) return 1;
  return (int64_t)ms;
}

static char *shell_quote(const char *value) {
  Str out = {0};
  sb_addc(&out, '\'');
  for (const char *c = value; *c; c++) {
    if (*c == '\'') sb_adds(&out, "'\\''");
    else sb_addc(&out, *c);
  }
  sb_addc(&out, '\'');
  return sb_take(&out);
}

static char *sentinel(Session *s, const char *exit_code) {
  char *start = shell_quote(s->start_token);
  size_t end_len = strlen(s->end_token);
  char *trimmed = xstrndup(s->end_token, end_len - 1); /* without its \n */
  char *end = shell_quote(trimmed);
  char *text = xsprintf("builtin printf '%%s%%s:%%s%%s\\n' %s \"%s\" \"$PWD\" %s >&${__oh_fd:-1}",
                        start, exit_code, end);
  free(start);
  free(trimmed);
  free(end);
  return text;
}

static void flush_input(Session *s) {
  while (s->inbuf.n > 0 && s->in_fd >= 0) {
    ssize_t w = write(s->in_fd, s->inbuf.p, s->inbuf.n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      sb_clear(&s->inbuf); /* EPIPE once bash is gone */
      return;
    }
    memmove(s->inbuf.p, s->inbuf.p + w, s->inbuf.n - (size_t)w);
    s->inbuf.n -= (size_t)w;
  }
}

static void write_input(Session *s, const char *text) {
  sb_adds(&s->inbuf, text);
  flush_input(s);
}

static void close_stdin(Session *s) {
  if (s->fifo_fd >= 0) close(s->fifo_fd);
  s->fifo_fd = -1;
}

static int open_stdin(Session *s) {
  if (s->fifo_fd >= 0) return 0;
  s->fifo_fd = open(s->stdin_fifo, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (s->fifo_fd < 0) return fail_sys(errno, "open", s->stdin_fifo);
  return 0;
}

static int ensure_control_files(Session *s) {
  if (mkdir(s->control_dir, 0700) != 0 && errno != EEXIST)
    return fail_sys(errno, "mkdir", s->control_dir);
  struct stat st;
  if (lstat(s->stdin_fifo, &st) == 0) return 0;
  if (mkfifo(s->stdin_fifo, 0600) != 0) {
    char *m = xsprintf("mkfifo failed: %s", strerror(errno));
    fail_msg(FAIL_SYS, "%s", m);
    free(m);
    return -1;
  }
  return 0;
}

static void remove_control_dir(Session *s) {
  if (s->control_dir) rm_recursive(s->control_dir);
  fail_clear();
}

static char *take_idle(Session *s) {
  char *text = sb_take(&s->idle);
  s->idle_units = 0;
  s->paused = false;
  return text;
}

static void emit_text(Session *s, const char *text, size_t n);

static void on_sentinel(Session *s, const char *body, size_t n) {
  const char *colon = memchr(body, ':', n);
  size_t code_len = colon ? (size_t)(colon - body) : n;
  free(s->last_cwd);
  s->last_cwd = colon ? xstrndup(colon + 1, n - code_len - 1) : xstrdup("");
  /* Number(...) of what printf wrote for $? : digits */
  int exit_code = 0;
  bool numeric = code_len > 0 && code_len < 10;
  for (size_t i = 0; i < code_len; i++)
    if (body[i] < '0' || body[i] > '9') numeric = false;
  if (numeric) {
    char digits[16];
    memcpy(digits, body, code_len);
    digits[code_len] = '\0';
    exit_code = atoi(digits);
  }
  Str flushed = {0};
  ansi_flush(&s->ansi, &flushed);
  emit_text(s, flushed.p ? flushed.p : "", flushed.n);
  sb_free(&flushed);
  s->running = false;
  s->limit_deadline = -1;
  close_stdin(s);
  if (s->booting) {
    s->booting = false;
    return;
  }
  if (s->killed) return;
  if (s->call) call_end(s, (CallEnd){END_COMPLETED, numeric ? exit_code : INT_MIN, NULL});
  else {
    s->has_unreported = true;
    s->unreported_exit = numeric ? exit_code : INT_MIN;
  }
}

/* The length of the longest end of text that is a beginning of token. */
static size_t partial_prefix(const char *text, size_t n, const char *token) {
  size_t tn = strlen(token);
  for (size_t len = tn - 1 < n ? tn - 1 : n; len > 0; len--)
    if (memcmp(text + n - len, token, len) == 0) return len;
  return 0;
}

static void on_data(Session *s, const char *chunk, size_t n) {
  sb_add(&s->scan, chunk, n);
  size_t st_len = strlen(s->start_token), en_len = strlen(s->end_token);
  for (;;) {
    const char *p = s->scan.p ? s->scan.p : "";
    size_t len = s->scan.n;
    const char *start = len >= st_len ? memmem(p, len, s->start_token, st_len) : NULL;
    if (!start) {
      size_t keep = partial_prefix(p, len, s->start_token);
      char *emit = xstrndup(p, len - keep);
      memmove(s->scan.p, p + len - keep, keep);
      s->scan.n = keep;
      s->scan.p[keep] = '\0';
      session_emit(s, emit, len - keep);
      free(emit);
      return;
    }
    size_t at = (size_t)(start - p);
    const char *end = memmem(p + at, len - at, s->end_token, en_len);
    if (!end) {
      char *emit = xstrndup(p, at);
      memmove(s->scan.p, p + at, len - at);
      s->scan.n = len - at;
      s->scan.p[s->scan.n] = '\0';
      session_emit(s, emit, at);
      free(emit);
      /* The sentinel is one short printf; this long without its end, it was not the sentinel. */
      if (u16len(s->scan.p, s->scan.n) > MAX_SENTINEL_CHARS) {
        size_t all_len = s->scan.n;
        char *all = sb_take(&s->scan);
        session_emit(s, all, all_len);
        free(all);
      }
      return;
    }
    size_t end_at = (size_t)(end - p);
    char *before = xstrndup(p, at);
    char *body = xstrndup(p + at + st_len, end_at - at - st_len);
    size_t body_len = end_at - at - st_len;
    size_t rest = len - end_at - en_len;
    memmove(s->scan.p, p + end_at + en_len, rest);
    s->scan.n = rest;
    s->scan.p[rest] = '\0';
    session_emit(s, before, at);
    free(before);
    on_sentinel(s, body, body_len);
    free(body);
  }
}

static void emit_text(Session *s, const char *text, size_t n) {
  if (n == 0) return;
  if (s->call) {
    Call *c = s->call;
    collector_push(&c->collector, text, n);
    if (!c->has_timeout) c->idle_deadline = now_ms() + timer_delay(opt_or(s->host->opt.no_output_ms, 30000));
    if ((double)c->collector.total > opt_or(s->host->opt.max_call_chars, 4.0 * 1024 * 1024)) {
      call_end(s, (CallEnd){END_RUNNING, -1, "output_limit"});
    }
    return;
  }
  sb_add(&s->idle, text, n);
  s->idle_units += u16len(text, n);
  if (s->idle_units > MAX_IDLE_OUTPUT) s->paused = true; /* bash waits for us */
}

static void session_emit(Session *s, const char *raw, size_t n) {
  if (n == 0) return;
  Str text = {0};
  ansi_push(&s->ansi, raw, n, &text);
  emit_text(s, text.p ? text.p : "", text.n);
  sb_free(&text);
}

/* Output held back as a possible start of the sentinel, once a call returns without one. */
static void flush_partial(Session *s) {
  size_t st_len = strlen(s->start_token);
  if (s->scan.n >= st_len && memcmp(s->scan.p, s->start_token, st_len) == 0) return;
  size_t n = s->scan.n;
  char *all = sb_take(&s->scan);
  session_emit(s, all, n);
  free(all);
}

static void read_fd(Session *s, bool err) {
  int fd = err ? s->err_fd : s->out_fd;
  char buf[65536];
  ssize_t got = read(fd, buf, sizeof buf);
  if (got < 0 && (errno == EINTR || errno == EAGAIN)) return;
  Str text = {0};
  if (got <= 0) {
    utf8_stream_end(err ? &s->err_dec : &s->out_dec, &text);
    close(fd);
    if (err) s->err_fd = -1;
    else s->out_fd = -1;
  } else utf8_stream_push(err ? &s->err_dec : &s->out_dec, buf, (size_t)got, &text);
  if (text.n) {
    if (err) session_emit(s, text.p, text.n); /* before `exec 2>&1` */
    else on_data(s, text.p, text.n);
  }
  sb_free(&text);
}

static void on_exit_status(Session *s, int status) {
  s->exited = true;
  s->exit_status = status;
  s->limit_deadline = -1;
  close_stdin(s);
  /* Let the last output arrive (orphans may keep the pipe open, so don't wait for its end). */
  s->flush_deadline = now_ms() + EXIT_FLUSH_MS;
}

static void check_exit(Session *s) {
  if (s->exited) return;
  int status = child_status(s->pid);
  if (status < 0) return;
  forget_child(s->pid);
  on_exit_status(s, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* Drives the session's own pipes for up to `ms` (while starting it, and while killing it);
 * returns early once it finished booting or bash exited. */
static void pump(Session *s, int ms) {
  int64_t deadline = now_ms() + ms;
  bool booting = s->booting, exited = s->exited;
  for (;;) {
    struct pollfd fds[3];
    int n = 0;
    if (s->out_fd >= 0 && !s->paused) fds[n++] = (struct pollfd){s->out_fd, POLLIN, 0};
    if (s->err_fd >= 0) fds[n++] = (struct pollfd){s->err_fd, POLLIN, 0};
    if (s->in_fd >= 0 && s->inbuf.n > 0) fds[n++] = (struct pollfd){s->in_fd, POLLOUT, 0};
    int64_t left = deadline - now_ms();
    if (left < 0) left = 0;
    int wait = left > 2 ? 2 : (int)left; /* SIGCHLD goes to the main loop: look often */
    int ready = poll(fds, (nfds_t)n, wait);
    for (int i = 0; ready > 0 && i < n; i++) {
      if (!fds[i].revents) continue;
      if (fds[i].fd == s->in_fd) flush_input(s);
      else read_fd(s, fds[i].fd == s->err_fd);
    }
    reap_children();
    check_exit(s);
    if ((booting && !s->booting) || (!exited && s->exited)) return;
    if (now_ms() >= deadline) return;
  }
}

static void session_free(Session *s) {
  if (!s) return;
  if (s->in_fd >= 0) close(s->in_fd);
  if (s->out_fd >= 0) close(s->out_fd);
  if (s->err_fd >= 0) close(s->err_fd);
  if (s->watchdog_fd >= 0) close(s->watchdog_fd);
  close_stdin(s);
  sb_free(&s->inbuf);
  sb_free(&s->scan);
  sb_free(&s->idle);
  sb_free(&s->ansi.carry);
  free(s->start_token);
  free(s->end_token);
  free(s->control_dir);
  free(s->command_file);
  free(s->stdin_fifo);
  free(s->last_cwd);
  free(s);
}

/* Kills the shell and everything it started; returns once bash is gone (or 2 s passed). */
static void session_kill(Session *s) {
  s->killed = true;
  s->limit_deadline = -1;
  if (s->pid > 0) kill_process_tree(s, s->pid, !s->exited);
  for (int waited = 0; !s->exited && waited < 2000; waited += 10) pump(s, 10);
  if (s->call) call_end(s, (CallEnd){END_CANCELLED, -1, NULL});
  close_stdin(s);
  if (s->watchdog_fd >= 0) close(s->watchdog_fd);
  s->watchdog_fd = -1;
  remove_control_dir(s);
}

static char *tmpdir(void) {
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) return xstrdup("/tmp");
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--;
  return xstrndup(dir, n);
}

static char *find_bash(char **env) {
  const char *path = NULL;
  for (char **e = env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
  if (!path) path = "/usr/bin:/bin";
  const char *s = path;
  for (;;) {
    const char *e = strchr(s, ':');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len > 0) {
      char *candidate = xsprintf("%.*s/bash", (int)len, s);
      if (access(candidate, X_OK) == 0) return candidate;
      free(candidate);
    }
    if (!e) return NULL;
    s = e + 1;
  }
}

static bool env_skip(const char *entry) {
  static const char *const dropped[] = {"BASH_ENV=", "ENV=", "PAGER=", "GIT_PAGER=", "TERM=",
                                        "PYTHONUNBUFFERED="};
  for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
    if (strncmp(entry, dropped[i], strlen(dropped[i])) == 0) return true;
  return false;
}

static void set_cloexec_nonblock(int fd, bool nonblock) {
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  if (nonblock) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Starts bash and waits until it is ready; NULL with g_fail on failure. */
static Session *session_start(TerminalHost *t, const char *cwd) {
  Session *s = xmalloc(sizeof *s);
  memset(s, 0, sizeof *s);
  s->host = t;
  s->in_fd = s->out_fd = s->err_fd = s->watchdog_fd = s->fifo_fd = -1;
  s->limit_deadline = s->flush_deadline = -1;
  s->running = true; /* until the startup sentinel */
  s->last_cwd = xstrdup(cwd);
  random_hex(s->nonce, 12);
  s->start_token = xsprintf("__OH_%s:", s->nonce);
  s->end_token = xsprintf(":%s_HO__\n", s->nonce);
  char *tmp = tmpdir();
  char *templ = xsprintf("%s/oh-shell-XXXXXX", tmp);
  free(tmp);
  if (!mkdtemp(templ)) {
    fail_sys(errno, "mkdtemp", templ);
    free(templ);
    session_free(s);
    return NULL;
  }
  s->control_dir = templ;
  s->command_file = xsprintf("%s/command.sh", templ);
  s->stdin_fifo = xsprintf("%s/stdin", templ);
  if (ensure_control_files(s) != 0) {
    remove_control_dir(s);
    session_free(s);
    return NULL;
  }
  char *bash = find_bash(t->opt.env);
  if (!bash) {
    fail_msg(FAIL_SYS, "spawn bash ENOENT");
    remove_control_dir(s);
    session_free(s);
    return NULL;
  }
  /* the environment: the sandbox's, without BASH_ENV/ENV, with pager and terminal settings */
  size_t nenv = 0;
  for (char **e = t->opt.env; *e; e++) nenv++;
  char **env = xmalloc((nenv + 5) * sizeof *env);
  size_t k = 0;
  for (char **e = t->opt.env; *e; e++)
    if (!env_skip(*e)) env[k++] = *e;
  env[k++] = "PAGER=cat";
  env[k++] = "GIT_PAGER=cat";
  env[k++] = "TERM=dumb";
  env[k++] = "PYTHONUNBUFFERED=1";
  env[k] = NULL;
  int in[2], out[2], err[2], wd[2];
  if (pipe(in) != 0 || pipe(out) != 0 || pipe(err) != 0 || pipe(wd) != 0) {
    fail_sys(errno, "pipe", NULL);
    free(env);
    free(bash);
    remove_control_dir(s);
    session_free(s);
    return NULL;
  }
  pid_t pid = fork();
  if (pid == 0) {
    /* the child: its own session and group, signals as a fresh process has them */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid();
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    dup2(wd[0], 3);
    for (int fd = 4; fd < 1024; fd++) close(fd);
    if (chdir(cwd) != 0) _exit(127);
    char *argv[] = {"bash", "--noprofile", "--norc", NULL};
    execve(bash, argv, env);
    _exit(127);
  }
  free(env);
  free(bash);
  close(in[0]);
  close(out[1]);
  close(err[1]);
  close(wd[0]);
  if (pid < 0) {
    fail_sys(errno, "fork", NULL);
    close(in[1]);
    close(out[0]);
    close(err[0]);
    close(wd[1]);
    remove_control_dir(s);
    session_free(s);
    return NULL;
  }
  s->pid = pid;
  s->in_fd = in[1];
  s->out_fd = out[0];
  s->err_fd = err[0];
  s->watchdog_fd = wd[1];
  set_cloexec_nonblock(s->in_fd, true);
  set_cloexec_nonblock(s->out_fd, true);
  set_cloexec_nonblock(s->err_fd, true);
  set_cloexec_nonblock(s->watchdog_fd, false);

  /* boot: the watchdog waits for EOF on fd 3, whose other end only this program holds */
  char *ready = sentinel(s, "0");
  char *boot = xsprintf("exec 2>&1\n"
                        "{ read -r -u 3 __oh_never; kill -KILL -- -$$; } &\n"
                        "exec 3<&-\n"
                        "exec {__oh_fd}>&1\n"
                        "shopt -s expand_aliases\n"
                        "trap '[ -n \"${__OH_BUSY-}\" ] && return 130 2>/dev/null' INT\n"
                        "%s\n",
                        ready);
  free(ready);
  s->booting = true;
  write_input(s, boot);
  free(boot);
  int64_t deadline = now_ms() + START_TIMEOUT_MS;
  while (s->booting && !s->exited && now_ms() < deadline) pump(s, 50);
  if (s->booting) {
    char *why = s->exited ? xsprintf("bash exited with status %d while starting", s->exit_status)
                          : xsprintf("bash did not start within %d ms", START_TIMEOUT_MS);
    s->booting = false;
    session_kill(s);
    session_free(s);
    fail_msg(FAIL_SYS, "%s", why);
    free(why);
    return NULL;
  }
  sb_free(&s->idle);
  s->idle_units = 0;
  return s;
}

/* ---- keys ---- */

typedef struct {
  char name[8];
  char bytes[8];
  bool found;
} Key;

static const struct {
  const char *name;
  const char *bytes;
} KEYS[] = {
    {"enter", "\n"},        {"return", "\n"},        {"tab", "\t"},        {"escape", "\x1b"},
    {"esc", "\x1b"},        {"space", " "},          {"bspace", "\x7f"},   {"backspace", "\x7f"},
    {"up", "\x1b[A"},       {"down", "\x1b[B"},      {"right", "\x1b[C"},  {"left", "\x1b[D"},
    {"home", "\x1b[H"},     {"end", "\x1b[F"},       {"pageup", "\x1b[5~"}, {"ppage", "\x1b[5~"},
    {"pagedown", "\x1b[6~"}, {"npage", "\x1b[6~"},   {"delete", "\x1b[3~"}, {"dc", "\x1b[3~"},
};

static Key parse_key(const char *input, size_t n) {
  Key key = {{0}, {0}, false};
  size_t a, b;
  js_trim(input, n, &a, &b);
  const char *text = input + a;
  size_t len = b - a;
  if (len == 3 && (text[0] == 'C' || text[0] == 'c') && text[1] == '-' &&
      (unsigned char)text[2] < 0x80 && text[2] != '\n' && text[2] != '\r') {
    int code = toupper((unsigned char)text[2]);
    if (code >= 0x40 && code <= 0x5f) {
      key.found = true;
      snprintf(key.name, sizeof key.name, "C-%c", tolower((unsigned char)text[2]));
      key.bytes[0] = (char)(code & 0x1f);
      key.bytes[1] = '\0';
      return key;
    }
  }
  if (len == 0 || len > 16) return key;
  char lower[17];
  for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)text[i]);
  lower[len] = '\0';
  for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++) {
    if (strcmp(lower, KEYS[i].name) == 0) {
      key.found = true;
      snprintf(key.name, sizeof key.name, "KEY");
      snprintf(key.bytes, sizeof key.bytes, "%s", KEYS[i].bytes);
    }
  }
  return key;
}

/* ---- calls ---- */

static void call_free(Call *c) {
  if (!c) return;
  sb_free(&c->notes);
  sb_free(&c->collector.whole);
  sb_free(&c->collector.head);
  sb_free(&c->collector.tail);
  if (c->collector.log_fd >= 0) close(c->collector.log_fd);
  free(c->collector.log_path);
  free(c);
}

static void call_end(Session *s, CallEnd how) {
  Call *c = s->call;
  if (!c) return;
  s->call = NULL;
  if (how.status == END_RUNNING) flush_partial(s);
  Collected collected = collector_finish(&c->collector);
  int64_t waited = now_ms() - c->started;
  host_finish(s->host, s, how, collected.text, collected.full_output_path, waited,
              how.status == END_RUNNING && strcmp(how.reason, "no_output") == 0, &c->notes);
  free(collected.text);
  free(collected.full_output_path);
  call_free(c);
}

static void immediate(Session *s, CallEnd how, char *output) {
  Collector collector;
  collector_init(&collector, s->host->opt.workspace,
                 (size_t)opt_or(s->host->opt.max_output_chars, 30000));
  collector_push(&collector, output, strlen(output));
  free(output);
  Collected collected = collector_finish(&collector);
  host_finish(s->host, s, how, collected.text, collected.full_output_path, 0, false, NULL);
  free(collected.text);
  free(collected.full_output_path);
}

static void wait_call(Session *s, Request *r, Str *notes) {
  Call *c = xmalloc(sizeof *c);
  memset(c, 0, sizeof *c);
  c->started = now_ms();
  collector_init(&c->collector, s->host->opt.workspace,
                 (size_t)opt_or(s->host->opt.max_output_chars, 30000));
  if (notes) {
    c->notes = *notes;
    memset(notes, 0, sizeof *notes);
  }
  char *idle = take_idle(s);
  collector_push(&c->collector, idle, strlen(idle));
  free(idle);
  c->has_timeout = r->has_timeout;
  c->idle_deadline = -1;
  c->hard_deadline = -1;
  s->call = c;
  if (r->has_timeout) c->hard_deadline = now_ms() + timer_delay(r->timeout_ms);
  else c->idle_deadline = now_ms() + timer_delay(opt_or(s->host->opt.no_output_ms, 30000));
}

/* Sends input to the running command; NULL or the refusal. */
static const char *send_input(Session *s, const char *command, size_t n, const Key *key) {
  if (key->found && strcmp(key->name, "C-c") == 0) {
    kill(-s->pid, SIGINT); /* bash traps it; the command's processes get the default action */
    return NULL;
  }
  if (key->found && strcmp(key->name, "C-d") == 0) {
    close_stdin(s);
    return NULL;
  }
  if (key->found && strcmp(key->name, "C-z") == 0) return "unsupported_key";
  Str text = {0};
  if (key->found) sb_adds(&text, key->bytes);
  else {
    sb_add(&text, command, n);
    if (n == 0 || command[n - 1] != '\n') sb_addc(&text, '\n');
  }
  const char *refusal = NULL;
  if (open_stdin(s) != 0) {
    sb_free(&text);
    return "error";
  }
  ssize_t w = write(s->fifo_fd, text.p, text.n);
  if (w < 0) refusal = errno == EAGAIN ? "input_blocked" : (fail_sys(errno, "write", NULL), "error");
  else if ((size_t)w < text.n) refusal = "input_blocked";
  sb_free(&text);
  return refusal;
}

static void add_note(Str *notes, const char *text) {
  if (notes->n) sb_addc(notes, ',');
  json_strz(notes, text);
}

/* execute(): either answers at once or leaves a call waiting. -1 with g_fail: an error. */
static int execute(Session *s, Request *r) {
  if (r->aborted) {
    session_kill(s);
    immediate(s, (CallEnd){END_CANCELLED, -1, NULL}, xstrdup(""));
    return 0;
  }
  if (s->exited) {
    immediate(s, (CallEnd){END_EXITED, s->exit_status, NULL}, take_idle(s));
    return 0;
  }
  Key key = parse_key(r->command, r->command_len);
  if (s->running) {
    if (r->command_len == 0) {
      wait_call(s, r, NULL);
      return 0;
    }
    if (!r->is_input && !key.found) {
      immediate(s, (CallEnd){END_REFUSED, -1, "busy"}, take_idle(s));
      return 0;
    }
    const char *refusal = send_input(s, r->command, r->command_len, &key);
    if (refusal && strcmp(refusal, "error") == 0) return -1;
    if (refusal) immediate(s, (CallEnd){END_REFUSED, -1, refusal}, xstrdup(""));
    else wait_call(s, r, NULL);
    return 0;
  }
  if (r->command_len == 0 || r->is_input || (key.found && strncmp(key.name, "C-", 2) == 0)) {
    if (s->has_unreported) {
      s->has_unreported = false;
      immediate(s, (CallEnd){END_COMPLETED, s->unreported_exit, NULL}, take_idle(s));
      return 0;
    }
    immediate(s, (CallEnd){END_REFUSED, -1, "not_running"}, xstrdup(""));
    return 0;
  }
  Str notes = {0};
  if (s->has_unreported) {
    Str note = {0};
    sb_adds(&note, "The previous command finished meanwhile with exit code ");
    if (s->unreported_exit == INT_MIN) sb_adds(&note, "NaN");
    else sb_addf(&note, "%d", s->unreported_exit);
    sb_adds(&note, js_is_blank(s->idle.p ? s->idle.p : "", s->idle.n)
                       ? "."
                       : "; its last output comes first below.");
    add_note(&notes, note.p);
    sb_free(&note);
    s->has_unreported = false;
  }
  if (ensure_control_files(s) != 0) {
    sb_free(&notes);
    return -1;
  }
  int fd = open(s->command_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) {
    sb_free(&notes);
    return fail_sys(errno, "open", s->command_file);
  }
  bool ok = true;
  const char *p = r->command;
  size_t left = r->command_len;
  while (ok && left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) ok = false;
    else {
      p += w;
      left -= (size_t)w;
    }
  }
  if (ok && write(fd, "\n", 1) != 1) ok = false;
  close(fd);
  if (!ok) {
    sb_free(&notes);
    return fail_sys(errno ? errno : EIO, "write", NULL);
  }
  if (open_stdin(s) != 0) {
    sb_free(&notes);
    return -1;
  }
  s->running = true;
  double limit = opt_or(s->host->opt.command_timeout_ms, 0);
  if (limit > 0) s->limit_deadline = now_ms() + timer_delay(limit);
  char *file = shell_quote(s->command_file);
  char *fifo = shell_quote(s->stdin_fifo);
  char *done = sentinel(s, "$__oh_ec");
  char *line = xsprintf("__OH_BUSY=1; builtin source %s < %s; __oh_ec=$? __OH_BUSY=; %s\n", file,
                        fifo, done);
  write_input(s, line);
  free(line);
  free(file);
  free(fifo);
  free(done);
  wait_call(s, r, &notes);
  return 0;
}

/* ================================================================ terminal-host.ts */

TerminalHost *terminal_new(const TerminalOptions *options, TerminalReply reply) {
  TerminalHost *t = xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->opt = *options;
  t->reply = reply;
  return t;
}

static void request_free(Request *r) {
  if (!r) return;
  free(r->command);
  sb_free(&r->notes);
  free(r);
}

static const char *STATUS[] = {"completed", "exited", "running", "refused", "cancelled"};

/* The end of the current request: its result, with run()'s notes first. */
static void host_finish(TerminalHost *t, Session *s, CallEnd how, const char *output,
                        const char *full_output_path, int64_t waited, bool idle,
                        const Str *later_notes) {
  Request *r = t->current;
  if (!r) return;
  /* run()'s notes, the limit's, then execute()'s */
  if (how.status == END_CANCELLED && s && s->limit_hit) {
    char *note = xsprintf("The command ran longer than the limit of %.0f s per command: it was "
                          "killed with the shell and everything it started.",
                          round(opt_or(t->opt.command_timeout_ms, 0) / 1000));
    add_note(&r->notes, note);
    free(note);
  }
  if (later_notes && later_notes->n) {
    if (r->notes.n) sb_addc(&r->notes, ',');
    sb_add(&r->notes, later_notes->p, later_notes->n);
  }
  Str json = {0};
  sb_adds(&json, "{\"status\":");
  json_strz(&json, STATUS[how.status]);
  if (how.status == END_RUNNING) {
    sb_adds(&json, ",\"stoppedBy\":");
    json_strz(&json, how.reason);
  }
  if (how.status == END_REFUSED) {
    sb_adds(&json, ",\"refusal\":");
    json_strz(&json, how.reason);
  }
  sb_adds(&json, ",\"output\":");
  json_strz(&json, output);
  sb_adds(&json, ",\"exitCode\":");
  if (how.status == END_COMPLETED || how.status == END_EXITED) {
    if (how.exit_code == INT_MIN) sb_adds(&json, "null");
    else sb_addf(&json, "%d", how.exit_code);
  } else sb_adds(&json, "-1");
  sb_adds(&json, ",\"cwd\":");
  json_strz(&json, s ? s->last_cwd : t->opt.workspace);
  sb_addf(&json, ",\"waitedMs\":%lld,\"notes\":[", (long long)waited);
  sb_add(&json, r->notes.p ? r->notes.p : "", r->notes.n);
  sb_addc(&json, ']');
  if (full_output_path) {
    sb_adds(&json, ",\"fullOutputPath\":");
    json_strz(&json, full_output_path);
  }
  if (idle) {
    sb_adds(&json, ",\"idleMs\":");
    js_number(&json, opt_or(t->opt.no_output_ms, 30000));
  }
  sb_addc(&json, '}');
  t->current = NULL;
  t->queue = r->next;
  t->reply(r->id, json.p, NULL);
  sb_free(&json);
  request_free(r);
}

static void host_fail(TerminalHost *t) {
  Request *r = t->current;
  if (!r) return;
  t->current = NULL;
  t->queue = r->next;
  const char *msg = g_fail.msg ? g_fail.msg : "the terminal failed";
  t->reply(r->id, NULL, msg);
  fail_clear();
  request_free(r);
}

static bool is_directory(const char *dir) {
  struct stat st;
  return dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

static Session *host_start(TerminalHost *t, const char *cwd) {
  Session *s = session_start(t, is_directory(cwd) ? cwd : t->opt.workspace);
  if (!s) return NULL;
  if (t->session) session_free(t->session);
  t->session = s;
  return s;
}

static void run(TerminalHost *t, Request *r) {
  Session *s = t->session;
  if (r->reset) {
    char *cwd = s ? xstrdup(s->last_cwd) : NULL;
    if (s) session_kill(s);
    s = host_start(t, cwd);
    free(cwd);
    if (!s) return host_fail(t);
    char *note = xsprintf("The terminal was reset: a new shell started in %s; variables and "
                          "processes of the old one are gone.",
                          s->last_cwd);
    add_note(&r->notes, note);
    free(note);
    if (js_is_blank(r->command, r->command_len)) {
      return host_finish(t, s, (CallEnd){END_COMPLETED, 0, NULL}, "", NULL, 0, false, NULL);
    }
  } else if (!s || s->exited) {
    bool ended = s && s->exited;
    int code = s ? s->exit_status : 0;
    bool killed = s && s->killed, by_limit = s && s->limit_hit;
    char *cwd = s ? xstrdup(s->last_cwd) : NULL;
    if (s) session_kill(s); /* what the old shell left running in the background */
    s = host_start(t, cwd);
    free(cwd);
    if (!s) return host_fail(t);
    if (ended) {
      char *why = by_limit ? xsprintf("was killed: a command ran longer than the limit of %.0f s",
                                      round(opt_or(t->opt.command_timeout_ms, 0) / 1000))
                  : killed ? xstrdup("was stopped (its turn was cancelled or the terminal was "
                                     "disposed)")
                           : xsprintf("exited with code %d", code);
      char *note = xsprintf("The previous shell %s, so a new shell started in %s; variables and "
                            "background processes of the old one are gone.",
                            why, s->last_cwd);
      add_note(&r->notes, note);
      free(note);
      free(why);
    }
  }
  if (execute(s, r) != 0) host_fail(t);
}

void terminal_enqueue(TerminalHost *t, double id, const JVal *params) {
  Request *r = xmalloc(sizeof *r);
  memset(r, 0, sizeof *r);
  r->id = id;
  const JVal *command = json_get(params, "command");
  if (command && command->type == J_STR) {
    r->command = xstrndup(command->str, command->len);
    r->command_len = command->len;
  } else r->command = xstrdup("");
  const JVal *v = json_get(params, "isInput");
  r->is_input = v && (v->type == J_TRUE || (v->type == J_NUM && v->num != 0 && !isnan(v->num)) ||
                      (v->type == J_STR && v->len > 0) || v->type == J_OBJ || v->type == J_ARR);
  v = json_get(params, "reset");
  r->reset = v && (v->type == J_TRUE || (v->type == J_NUM && v->num != 0 && !isnan(v->num)) ||
                   (v->type == J_STR && v->len > 0) || v->type == J_OBJ || v->type == J_ARR);
  v = json_get(params, "timeoutMs");
  if (v) {
    r->has_timeout = true;
    r->timeout_ms = v->type == J_NUM ? v->num : 0;
  }
  Request **tail = &t->queue;
  while (*tail) tail = &(*tail)->next;
  *tail = r;
}

bool terminal_has(TerminalHost *t, double id) {
  for (Request *r = t->queue; r; r = r->next)
    if (r->id == id) return true;
  return false;
}

void terminal_cancel(TerminalHost *t, double id) {
  for (Request *r = t->queue; r; r = r->next) {
    if (r->id != id || r->aborted) continue;
    r->aborted = true;
    if (r == t->current && t->session && t->session->call) session_kill(t->session);
    return;
  }
}

void terminal_step(TerminalHost *t) {
  while (!t->current && t->queue) {
    t->current = t->queue;
    fail_clear();
    run(t, t->current);
  }
}

void terminal_kill(TerminalHost *t) {
  Session *s = t->session;
  t->session = NULL;
  if (s) {
    session_kill(s);
    session_free(s);
  }
}

int terminal_pollfds(TerminalHost *t, struct pollfd *fds, int max) {
  Session *s = t->session;
  int n = 0;
  if (!s || max < 3) return 0;
  if (s->out_fd >= 0 && !s->paused) fds[n++] = (struct pollfd){s->out_fd, POLLIN, 0};
  if (s->err_fd >= 0) fds[n++] = (struct pollfd){s->err_fd, POLLIN, 0};
  if (s->in_fd >= 0 && s->inbuf.n > 0) fds[n++] = (struct pollfd){s->in_fd, POLLOUT, 0};
  return n;
}

void terminal_on_poll(TerminalHost *t, struct pollfd *fds, int n) {
  for (int i = 0; i < n; i++) {
    Session *s = t->session;
    if (!s || !fds[i].revents) continue;
    if (fds[i].fd == s->in_fd) flush_input(s);
    else if (fds[i].fd == s->out_fd) read_fd(s, false);
    else if (fds[i].fd == s->err_fd) read_fd(s, true);
  }
}

void terminal_on_child(TerminalHost *t) {
  if (t->session) check_exit(t->session);
}

int64_t terminal_next_deadline(TerminalHost *t) {
  Session *s = t->session;
  if (!s) return -1;
  int64_t next = -1;
  int64_t candidates[4] = {s->limit_deadline, s->flush_deadline,
                           s->call ? s->call->idle_deadline : -1,
                           s->call ? s->call->hard_deadline : -1};
  for (int i = 0; i < 4; i++)
    if (candidates[i] >= 0 && (next < 0 || candidates[i] < next)) next = candidates[i];
  return next;
}

void terminal_on_time(TerminalHost *t) {
  Session *s = t->session;
  if (!s) return;
  int64_t now = now_ms();
  if (s->flush_deadline >= 0 && s->flush_deadline <= now) {
    s->flush_deadline = -1;
    flush_partial(s);
    s->running = false;
    if (!s->killed && s->call) call_end(s, (CallEnd){END_EXITED, s->exit_status, NULL});
    remove_control_dir(s);
  }
  if (s->limit_deadline >= 0 && s->limit_deadline <= now) {
    s->limit_deadline = -1;
    s->limit_hit = true;
    session_kill(s);
  }
  if (s->call && s->call->hard_deadline >= 0 && s->call->hard_deadline <= now) {
    call_end(s, (CallEnd){END_RUNNING, -1, "timeout"});
  }
  if (s->call && s->call->idle_deadline >= 0 && s->call->idle_deadline <= now) {
    call_end(s, (CallEnd){END_RUNNING, -1, "no_output"});
  }
}
