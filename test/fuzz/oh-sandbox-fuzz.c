/*
 * libFuzzer harness for the native sandbox program's input handling (src/sandbox/native):
 * the JSON parser and writer, the streaming UTF-8 decoder, UTF-16 index math, trimming, Node-like
 * paths, the workspace path check, and the terminal's output pipeline (ANSI stripping, `\r`
 * redraws, the head/tail cut). Build and run (Debian: apt-get install clang libclang-rt-14-dev):
 *
 *   cd src/sandbox/native && clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -fno-sanitize-recover=all -D_GNU_SOURCE -Dmain=oh_sandbox_main -o /tmp/oh-fuzz \
 *     ../../../test/fuzz/oh-sandbox-fuzz.c editor.c json.c oh-sandbox.c text.c -lm
 *   mkdir -p /tmp/oh-fuzz-ws && nice -n 15 /tmp/oh-fuzz -max_total_time=300 -max_len=4096
 *
 * (terminal.c is included below, for its static functions.)
 *
 * The first input byte picks the target; the rest is its input.
 */
#include "../../src/sandbox/native/terminal.c"

#include <stdlib.h>
#include <string.h>

static void json_target(const char *p, size_t n) {
  JVal *v = json_parse(p, n);
  if (!v) return;
  Str once = {0}, twice = {0}, text = {0};
  json_stringify(&once, v);
  JVal *again = json_parse(once.p, once.n);
  if (!again) abort(); /* what we write must parse */
  json_stringify(&twice, again);
  if (once.n != twice.n || memcmp(once.p, twice.p, once.n) != 0) abort(); /* and be stable */
  js_string_of(&text, v);
  json_get(v, "method");
  json_free(again);
  json_free(v);
  sb_free(&once);
  sb_free(&twice);
  sb_free(&text);
}

static void utf8_target(const char *p, size_t n) {
  Utf8Stream d = {{0}, 0};
  Str out = {0};
  /* in two pieces, cut where the first byte says: a sequence may straddle them */
  size_t cut = n ? (unsigned char)p[0] % (n + 1) : 0;
  utf8_stream_push(&d, p, cut, &out);
  utf8_stream_push(&d, p + cut, n - cut, &out);
  utf8_stream_end(&d, &out);
  const char *s = out.p ? out.p : "";
  if (!utf8_valid((const unsigned char *)s, out.n)) abort(); /* decoded text is valid UTF-8 */
  size_t units = u16len(s, out.n);
  for (size_t u = 0; u <= units + 1; u += 1 + units / 16) {
    size_t b = u16_to_byte(s, out.n, u);
    if (b > out.n) abort();
  }
  size_t a, z;
  js_trim(s, out.n, &a, &z);
  if (a > z || z > out.n) abort();
  sb_free(&out);
}

static void path_target(const char *p, size_t n) {
  char *text = strndup(p, n); /* up to the first NUL, as the C code sees a path */
  char *normal = path_normalize(text);
  char *resolved = path_resolve2("/w", text);
  char *dir = path_dirname(text);
  char *base = path_basename(text);
  char *joined = path_join2("/w", text);
  char *real = NULL;
  if (resolve_workspace_path("/tmp/oh-fuzz-ws", text, &real) == 0) {
    if (!is_inside("/tmp/oh-fuzz-ws", real)) abort();
    free(real);
  }
  fail_clear();
  free(text);
  free(normal);
  free(resolved);
  free(dir);
  free(base);
  free(joined);
}

static void output_target(const char *p, size_t n) {
  if (n == 0) return;
  size_t max_chars = (unsigned char)p[0] % 64; /* cut often, mid-character too */
  p++;
  n--;
  Utf8Stream d = {{0}, 0};
  Str text = {0};
  utf8_stream_push(&d, p, n, &text); /* what read_fd hands on: valid UTF-8 */
  utf8_stream_end(&d, &text);
  Ansi ansi = {{0}};
  Collector c;
  collector_init(&c, "/nonexistent-oh-fuzz", max_chars); /* no log file is written */
  size_t piece = 1 + (n % 7);
  for (size_t at = 0; at < text.n;) {
    size_t end = at + piece;
    while (end < text.n && ((unsigned char)text.p[end] & 0xc0) == 0x80) end++; /* code points */
    if (end > text.n) end = text.n;
    Str out = {0};
    ansi_push(&ansi, text.p + at, end - at, &out);
    collector_push(&c, out.p ? out.p : "", out.n);
    sb_free(&out);
    at = end;
  }
  Str rest = {0};
  ansi_flush(&ansi, &rest);
  collector_push(&c, rest.p ? rest.p : "", rest.n);
  sb_free(&rest);
  sb_free(&ansi.carry);
  Collected done = collector_finish(&c);
  if (!utf8_valid((const unsigned char *)done.text, strlen(done.text))) abort(); /* no cut mid-character */
  free(done.text);
  free(done.full_output_path);
  sb_free(&c.whole);
  sb_free(&c.head);
  sb_free(&c.tail);
  sb_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const char *p = (const char *)data + 1;
  size_t n = size - 1;
  switch (data[0] % 4) {
  case 0: json_target(p, n); break;
  case 1: utf8_target(p, n); break;
  case 2: path_target(p, n); break;
  case 3: output_target(p, n); break;
  }
  return 0;
}
