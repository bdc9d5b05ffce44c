/*
 * oh-sandbox: the native sandbox program (the same protocol and behaviour as the TypeScript in src/sandbox,
 * which stays the reference). Shared declarations of its parts:
 *   text.c      growable strings, UTF-8/UTF-16 helpers, Node-like paths and error messages
 *   json.c      a strict JSON parser and a JSON.stringify-compatible writer
 *   editor.c    file_editor (file-editor.ts, workspace-paths.ts)
 *   terminal.c  the persistent bash session and its host (bash-session.ts, terminal-host.ts,
 *               terminal-output.ts, process-tree.ts)
 *   oh-sandbox.c  the protocol loop (main.ts, server.ts, protocol.ts)
 */
#ifndef OH_SANDBOX_H
#define OH_SANDBOX_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROTOCOL_VERSION 1

/* ---- growable byte strings (always NUL-terminated) ---- */
typedef struct {
  char *p;
  size_t n;
  size_t cap;
} Str;

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void sb_reserve(Str *s, size_t extra);
void sb_add(Str *s, const char *p, size_t n);
void sb_adds(Str *s, const char *p);
void sb_addc(Str *s, char c);
void sb_addf(Str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_clear(Str *s);
void sb_free(Str *s);
char *sb_take(Str *s); /* the buffer (never NULL); s is left empty */
char *xsprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- UTF-8 / UTF-16 ---- */
/* Decodes one code point of valid UTF-8 at p (n bytes available); returns its length. */
size_t utf8_next(const char *p, size_t n, uint32_t *cp);
bool utf8_valid(const unsigned char *p, size_t n);
/* Length in UTF-16 code units, as JS `.length` counts. */
size_t u16len(const char *p, size_t n);
/* The byte offset of UTF-16 index `units` (clamped; rounded down inside a surrogate pair). */
size_t u16_to_byte(const char *p, size_t n, size_t units);
/* The UTF-16 index of byte offset `byte` (a code point boundary). */
size_t byte_to_u16(const char *p, size_t byte);
/* JS String.prototype.trim bounds: [*start, *end) of p[0..n). */
void js_trim(const char *p, size_t n, size_t *start, size_t *end);
bool js_is_blank(const char *p, size_t n);

/* Streaming UTF-8 decoder as Node's (invalid sequences become U+FFFD, maximal subparts). */
typedef struct {
  unsigned char pending[4];
  size_t npending;
} Utf8Stream;
void utf8_stream_push(Utf8Stream *d, const char *in, size_t n, Str *out);
void utf8_stream_end(Utf8Stream *d, Str *out);

/* ---- Node-like numbers and paths ---- */
void js_number(Str *out, double v); /* Number.prototype.toString */
char *path_normalize(const char *p);              /* path.posix.normalize */
char *path_join2(const char *a, const char *b);   /* path.posix.join(a, b) */
char *path_resolve2(const char *a, const char *b); /* path.posix.resolve(a, b), absolute a */
char *path_dirname(const char *p);
char *path_basename(const char *p);
bool is_inside(const char *root, const char *candidate);

/* ---- failures: a message for the LLM (editor/path) or a system error (Node-style text) ---- */
enum { FAIL_NONE, FAIL_MSG, FAIL_PATH, FAIL_SYS };
typedef struct {
  int type;
  int err;    /* errno for FAIL_SYS */
  char *msg;  /* owned */
} Fail;
extern Fail g_fail;
int fail_msg(int type, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fail_sys(int err, const char *syscall, const char *path);
void fail_clear(void);
const char *errno_code(int err);

/* fs helpers mirroring Node's */
int js_realpath(const char *path, char **out); /* fs.realpathSync (the JS algorithm) */
int mkdir_recursive(const char *path);         /* fs.mkdirSync(path, { recursive: true }) */
int rm_recursive(const char *path);            /* fs.rmSync(path, { recursive, force }) */

/* ---- JSON ---- */
enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct JVal JVal;
struct JVal {
  int type;
  double num;
  char *str; /* J_STR: UTF-8, may hold NUL bytes; len below */
  size_t len;
  size_t count;  /* J_ARR, J_OBJ */
  char **keys;   /* J_OBJ */
  size_t *klens; /* J_OBJ */
  JVal **items;  /* J_ARR, J_OBJ values */
};
JVal *json_parse(const char *p, size_t n); /* NULL when not JSON */
void json_free(JVal *v);
const JVal *json_get(const JVal *obj, const char *key); /* last one wins, as JSON.parse */
void json_str(Str *out, const char *p, size_t n);     /* a JSON string literal */
void json_strz(Str *out, const char *p);
void js_string_of(Str *out, const JVal *v);           /* String(v); NULL is undefined */
void json_stringify(Str *out, const JVal *v);

/* ---- monotonic clock, random names ---- */
int64_t now_ms(void);
void random_hex(char *out, size_t bytes); /* 2 * bytes hex digits and a NUL */

/* ---- editor ---- */
typedef struct Editor Editor;
Editor *editor_new(const char *workspace);
void editor_free(Editor *e);
/* Runs one `editor` request. Returns 0 with output and is_error set, or -1 with g_fail (FAIL_SYS:
 * an internal error, its message in g_fail.msg). */
int editor_run(Editor *e, const JVal *params, char **output, bool *is_error);
int create_file_inside(const char *workspace, const char *target, int mode);
int resolve_workspace_path(const char *workspace, const char *requested, char **out);

/* ---- terminal ---- */
typedef struct {
  const char *workspace;
  char **env; /* the sandbox's own environment (already the allow-list) */
  double no_output_ms;
  double max_output_chars;
  double max_call_chars;
  double command_timeout_ms;
} TerminalOptions;
typedef struct TerminalHost TerminalHost;
/* Sends the `terminal` result (a JSON object text) of request `id` when the call ends. */
typedef void (*TerminalReply)(double id, const char *result_json, const char *error);
TerminalHost *terminal_new(const TerminalOptions *options, TerminalReply reply);
void terminal_enqueue(TerminalHost *t, double id, const JVal *params);
void terminal_cancel(TerminalHost *t, double id); /* $/cancel: true when it was queued or running */
bool terminal_has(TerminalHost *t, double id);
void terminal_kill(TerminalHost *t); /* kills the shell and all it started (synchronous) */
/* poll(2) integration */
struct pollfd;
int terminal_pollfds(TerminalHost *t, struct pollfd *fds, int max);
void terminal_on_poll(TerminalHost *t, struct pollfd *fds, int n);
int64_t terminal_next_deadline(TerminalHost *t); /* -1: none */
void terminal_on_time(TerminalHost *t);
void terminal_on_child(TerminalHost *t);
void terminal_step(TerminalHost *t); /* starts the next queued call when none runs */

/* Set by the main loop: reap children and read stdin are theirs. */
void reap_children(void);
/* Registered exit status of a reaped child, -1 when unknown. */
int child_status(int pid);
void forget_child(int pid);

#endif
