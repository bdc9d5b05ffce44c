/*
 * oh-sandbox: the sandbox program in C (main.ts, server.ts and protocol.ts are the reference).
 * One per conversation, started by the service (inside bubblewrap, or unsandboxed with
 * OH_SANDBOX=none), speaking newline-delimited JSON-RPC 2.0 on stdin/stdout:
 *
 *   oh-sandbox     (then send {"jsonrpc":"2.0","id":1,"method":"hello",…})
 *
 * Single-threaded: one poll(2) loop over stdin, the shell's pipes, signals and timers.
 * src/sandbox/conformance.spec.ts checks that both programs answer alike; the other sandbox specs
 * run against both.
 *
 * Known differences from the Node program, none reachable by requests the service sends:
 * - Starting a shell and killing one are synchronous here: meanwhile (a few ms; at worst ~2 s for
 *   a shell that will not die) other requests, `ping` included, wait their turn.
 * - Lengths and cuts count UTF-16 units as JS does, but a cut inside a surrogate pair keeps the
 *   whole character where JS would leave half of it.
 * - A directory listing sorts as ICU's root collation does for ASCII names; other characters sort
 *   after ASCII by code point (Node: full ICU).
 * - A lone surrogate in a request (`\ud800`) becomes U+FFFD on reading (Node keeps it in texts it
 *   quotes back); JSON nested deeper than 512 levels is "not JSON".
 * - Parameters of the wrong type (a missing `path`, a numeric `command`) get an internal error
 *   with another message than Node's TypeError.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#define MAX_LINE_CHARS (64u * 1024 * 1024)

enum {
  RPC_PARSE = -32700,
  RPC_INVALID_REQUEST = -32600,
  RPC_METHOD_NOT_FOUND = -32601,
  RPC_INVALID_PARAMS = -32602,
  RPC_INTERNAL = -32603,
  RPC_NOT_INITIALIZED = -32002,
  RPC_VERSION_MISMATCH = -32001,
  RPC_CANCELLED = -32800,
};

extern char **environ;

static char *g_workspace;
static TerminalHost *g_terminal;
static Editor *g_editor;
static TerminalOptions g_options;
static bool g_exiting;
static bool g_shutdown; /* `shutdown` was answered: exit once the current line is handled */

static void finish(int code);

/* ---------------------------------------------------------------- children */

#define MAX_REAPED 64
static struct {
  int pid;
  int status;
} g_reaped[MAX_REAPED];
static size_t g_nreaped;

void reap_children(void) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    if (g_nreaped == MAX_REAPED) { /* the oldest is of a session long gone */
      memmove(g_reaped, g_reaped + 1, (MAX_REAPED - 1) * sizeof g_reaped[0]);
      g_nreaped--;
    }
    g_reaped[g_nreaped].pid = pid;
    g_reaped[g_nreaped].status = status;
    g_nreaped++;
  }
}

int child_status(int pid) {
  for (size_t i = 0; i < g_nreaped; i++)
    if (g_reaped[i].pid == pid) return g_reaped[i].status;
  return -1;
}

void forget_child(int pid) {
  for (size_t i = 0; i < g_nreaped; i++) {
    if (g_reaped[i].pid != pid) continue;
    memmove(g_reaped + i, g_reaped + i + 1, (g_nreaped - i - 1) * sizeof g_reaped[0]);
    g_nreaped--;
    return;
  }
}

/* ---------------------------------------------------------------- output */

static void send_line(Str *line) {
  sb_addc(line, '\n');
  const char *p = line->p;
  size_t n = line->n;
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd out = {1, POLLOUT, 0};
        poll(&out, 1, 1000);
        continue;
      }
      /* stdout is gone (the service): nothing of the conversation may outlive it */
      if (!g_exiting) finish(0);
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void id_json(Str *out, const double *id) {
  if (id && isfinite(*id)) js_number(out, *id); /* JSON.stringify: Infinity is null */
  else sb_adds(out, "null");
}

static void send_result(const double *id, const char *result_json) {
  Str line = {0};
  sb_adds(&line, "{\"jsonrpc\":\"2.0\",\"id\":");
  id_json(&line, id);
  sb_adds(&line, ",\"result\":");
  sb_adds(&line, result_json);
  sb_addc(&line, '}');
  send_line(&line);
  sb_free(&line);
}

static void send_error(const double *id, int code, const char *message) {
  Str line = {0};
  sb_adds(&line, "{\"jsonrpc\":\"2.0\",\"id\":");
  id_json(&line, id);
  sb_addf(&line, ",\"error\":{\"code\":%d,\"message\":", code);
  json_strz(&line, message);
  sb_adds(&line, "}}");
  send_line(&line);
  sb_free(&line);
}

static void terminal_reply(double id, const char *result_json, const char *error) {
  if (result_json) send_result(&id, result_json);
  else send_error(&id, RPC_INTERNAL, error);
}

/* ---------------------------------------------------------------- methods */

static double number_setting(const JVal *settings, const char *key) {
  const JVal *v = json_get(settings, key);
  return v && v->type == J_NUM ? v->num : NAN;
}

static void hello(double id, const JVal *params) {
  const JVal *protocol = json_get(params, "protocol");
  if (!protocol || protocol->type != J_NUM || protocol->num != PROTOCOL_VERSION) {
    Str message = {0};
    sb_addf(&message, "this sandbox program speaks protocol %d, not ", PROTOCOL_VERSION);
    js_string_of(&message, protocol);
    send_error(&id, RPC_VERSION_MISMATCH, message.p);
    sb_free(&message);
    return;
  }
  if (g_workspace) return send_error(&id, RPC_INVALID_REQUEST, "`hello` was already said");
  const JVal *settings = json_get(params, "settings");
  const JVal *workspace = json_get(settings, "workspace");
  if (!workspace || workspace->type != J_STR || workspace->str[0] != '/' ||
      strlen(workspace->str) != workspace->len) {
    return send_error(&id, RPC_INVALID_PARAMS, "settings.workspace must be an absolute path");
  }
  struct stat st;
  if (stat(workspace->str, &st) != 0) {
    fail_sys(errno, "stat", workspace->str);
    send_error(&id, RPC_INTERNAL, g_fail.msg);
    fail_clear();
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    char *message = xsprintf("%s is not a directory", workspace->str);
    send_error(&id, RPC_INVALID_PARAMS, message);
    free(message);
    return;
  }
  g_workspace = xstrdup(workspace->str);
  g_options = (TerminalOptions){
      .workspace = g_workspace,
      .env = environ,
      .no_output_ms = number_setting(settings, "noOutputTimeoutMs"),
      .max_output_chars = number_setting(settings, "maxOutputChars"),
      .max_call_chars = number_setting(settings, "maxCallChars"),
      .command_timeout_ms = number_setting(settings, "commandTimeoutMs"),
  };
  g_terminal = terminal_new(&g_options, terminal_reply);
  g_editor = editor_new(g_workspace);
  Str result = {0};
  sb_addf(&result, "{\"protocol\":%d,\"pid\":%d,\"workspace\":", PROTOCOL_VERSION, (int)getpid());
  json_strz(&result, g_workspace);
  sb_addc(&result, '}');
  send_result(&id, result.p);
  sb_free(&result);
}

static void editor(double id, const JVal *params) {
  char *output;
  bool is_error;
  if (editor_run(g_editor, params, &output, &is_error) != 0) {
    send_error(&id, RPC_INTERNAL, g_fail.msg ? g_fail.msg : "the editor failed");
    fail_clear();
    return;
  }
  Str result = {0};
  sb_adds(&result, "{\"output\":");
  json_strz(&result, output);
  sb_addf(&result, ",\"isError\":%s}", is_error ? "true" : "false");
  send_result(&id, result.p);
  sb_free(&result);
  free(output);
}

/* Removes everything inside the workspace (not itself: it is the sandbox's mount point). */
static int clear_directory(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return fail_sys(errno, "scandir", dir);
  char **names = NULL;
  size_t count = 0, cap = 0;
  struct dirent *entry;
  while ((entry = readdir(d)) != NULL) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      names = xrealloc(names, cap * sizeof *names);
    }
    names[count++] = xstrdup(entry->d_name);
  }
  closedir(d);
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    if (rc == 0) {
      char *path = path_join2(dir, names[i]);
      rc = rm_recursive(path);
      free(path);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

static void dispatch(double id, const JVal *method, const JVal *params) {
  bool is = method->type == J_STR;
  const char *name = is ? method->str : "";
  if (is && strcmp(name, "hello") == 0) return hello(id, params);
  if (is && strcmp(name, "ping") == 0) return send_result(&id, "{}");
  if (!g_workspace) return send_error(&id, RPC_NOT_INITIALIZED, "`hello` must come first");
  if (is && strcmp(name, "terminal") == 0) return terminal_enqueue(g_terminal, id, params);
  if (is && strcmp(name, "editor") == 0) return editor(id, params);
  if (is && strcmp(name, "workspace.clear") == 0) {
    terminal_kill(g_terminal);
    editor_free(g_editor);
    g_editor = editor_new(g_workspace);
    if (clear_directory(g_workspace) != 0) {
      send_error(&id, RPC_INTERNAL, g_fail.msg);
      fail_clear();
      return;
    }
    return send_result(&id, "{}");
  }
  if (is && strcmp(name, "shutdown") == 0) {
    terminal_kill(g_terminal);
    send_result(&id, "{}");
    g_shutdown = true;
    return;
  }
  Str message = {0};
  sb_adds(&message, "no method ");
  js_string_of(&message, method);
  send_error(&id, RPC_METHOD_NOT_FOUND, message.p);
  sb_free(&message);
}

static void handle(const char *line, size_t n) {
  JVal *message = json_parse(line, n);
  if (!message) return send_error(NULL, RPC_PARSE, "not JSON");
  const JVal *method = json_get(message, "method");
  if (message->type != J_OBJ || !method) {
    json_free(message);
    return;
  }
  const JVal *params = json_get(message, "params");
  if (method->type == J_STR && strcmp(method->str, "$/cancel") == 0 &&
      method->len == strlen("$/cancel")) {
    const JVal *id = json_get(params, "id");
    if (id && id->type == J_NUM && g_terminal) terminal_cancel(g_terminal, id->num);
    json_free(message);
    return;
  }
  const JVal *id = json_get(message, "id");
  if (id && id->type == J_NUM) dispatch(id->num, method, params);
  json_free(message);
}

/* ---------------------------------------------------------------- the loop */

static void finish(int code) {
  if (g_exiting) _exit(code);
  g_exiting = true;
  /* abort what runs (the running terminal call answers `cancelled`), kill the shell */
  if (g_terminal) terminal_kill(g_terminal);
  exit(code);
}

int main(void) {
  /* Not dumpable: the shell runs as our user, and could otherwise open /proc/<our pid>/fd/1 (the
   * pipe to the service) to forge answers, or /proc/<pid>/mem to take this program over. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Orphans of the shell (double-forked, `setsid` daemons) become our children, so the process
   * tree kill finds them (inside bubblewrap this program is PID 1 of its namespace anyway). */
  prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd < 0) {
    perror("sandbox: signalfd");
    return 70;
  }
  Utf8Stream decoder = {{0}, 0};
  Str buffer = {0};
  size_t buffer_units = 0; /* UTF-16 length of `buffer` (it holds no line break) */
  bool stdin_open = true;
  for (;;) {
    if (g_terminal) terminal_step(g_terminal);
    struct pollfd fds[8];
    int n = 0;
    fds[n++] = (struct pollfd){sigfd, POLLIN, 0};
    if (stdin_open) fds[n++] = (struct pollfd){0, POLLIN, 0};
    int base = n;
    if (g_terminal) n += terminal_pollfds(g_terminal, fds + n, 8 - n);
    int timeout = -1;
    if (g_terminal) {
      int64_t next = terminal_next_deadline(g_terminal);
      if (next >= 0) {
        int64_t left = next - now_ms();
        timeout = left < 0 ? 0 : left > 60000 ? 60000 : (int)left;
      }
    }
    int ready = poll(fds, (nfds_t)n, timeout);
    if (ready < 0 && errno != EINTR) {
      perror("sandbox: poll");
      finish(70);
    }
    if (ready > 0 && fds[0].revents) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == (ssize_t)sizeof info) {
        if (info.ssi_signo == SIGCHLD) {
          reap_children();
          if (g_terminal) terminal_on_child(g_terminal);
        } else finish(0);
      }
    }
    if (g_terminal) {
      terminal_on_poll(g_terminal, fds + base, n - base);
      reap_children();
      terminal_on_child(g_terminal);
      terminal_on_time(g_terminal);
    }
    if (ready > 0 && stdin_open && fds[1].revents) {
      char chunk[65536];
      ssize_t got = read(0, chunk, sizeof chunk);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        /* The service is gone (it closed the pipe, or died). */
        finish(0);
      }
      size_t searched = buffer.n; /* what came before holds no line break */
      utf8_stream_push(&decoder, chunk, (size_t)got, &buffer);
      size_t start = 0;
      for (;;) {
        /* only text not searched yet: linear in the line's length, not quadratic */
        size_t from = start > searched ? start : searched;
        char *nl = buffer.n > from ? memchr(buffer.p + from, '\n', buffer.n - from) : NULL;
        if (!nl) break;
        size_t end = (size_t)(nl - buffer.p);
        if (!js_is_blank(buffer.p + start, end - start)) handle(buffer.p + start, end - start);
        start = end + 1;
        searched = start;
        if (g_shutdown) {
          sb_free(&buffer);
          finish(0);
        }
      }
      if (start > 0) {
        memmove(buffer.p, buffer.p + start, buffer.n - start);
        buffer.n -= start;
        buffer.p[buffer.n] = '\0';
        buffer_units = u16len(buffer.p, buffer.n); /* the rest of this chunk only */
      } else buffer_units += u16len(buffer.p + searched, buffer.n - searched);
      if (buffer_units > MAX_LINE_CHARS) {
        fprintf(stderr, "sandbox: a protocol line exceeds %u characters\n", MAX_LINE_CHARS);
        finish(65);
      }
    }
  }
}
