// Builds the native sandbox program (src/sandbox/native/*.c, C11 and libc only) into
// dist/sandbox/native/oh-sandbox; `npm run build` runs it after `nest build`.
//   node scripts/build-native-sandbox.mjs               build into dist/sandbox/native/
//   node scripts/build-native-sandbox.mjs --out FILE    build into FILE (tests build from sources)
// Without a C compiler (`$CC`, else `cc`) it says so in one line and exits 0: the service then
// uses the Node sandbox program (src/sandbox/main.ts). When the compiler fails: exit 1 under CI,
// otherwise one line and exit 0 (the Node program is used).
// `$OH_SANDBOX_CFLAGS` adds flags, e.g. a sanitizer build for the specs:
//   OH_SANDBOX_CFLAGS='-g -fsanitize=address,undefined -fno-sanitize-recover=all' npx jest src/sandbox
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCES = join(root, 'src', 'sandbox', 'native');
export const CFLAGS = [
  '-std=c11',
  '-O2',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-D_FORTIFY_SOURCE=2',
  '-fstack-protector-strong',
  '-D_GNU_SOURCE',
];

const args = process.argv.slice(2);
const at = args.indexOf('--out');
const out = at === -1 ? join(root, 'dist', 'sandbox', 'native', 'oh-sandbox') : args[at + 1];
if (!out) {
  console.error('usage: node scripts/build-native-sandbox.mjs [--out FILE]');
  process.exit(2);
}

const cc = process.env.CC || 'cc';
const probe = spawnSync(cc, ['--version'], { stdio: 'ignore' });
if (probe.error || probe.status !== 0) {
  console.log(
    `native sandbox program: no C compiler (${cc}) found, skipped; the Node sandbox program is used`,
  );
  process.exit(0);
}

const sources = readdirSync(SOURCES)
  .filter((name) => name.endsWith('.c'))
  .sort()
  .map((name) => join(SOURCES, name));
mkdirSync(dirname(out), { recursive: true });
const partial = `${out}.${process.pid}.tmp`;
const extra = (process.env.OH_SANDBOX_CFLAGS ?? '').split(/\s+/).filter(Boolean);
const built = spawnSync(cc, [...CFLAGS, ...extra, '-o', partial, ...sources, '-lm'], {
  stdio: ['ignore', 'inherit', 'inherit'],
  timeout: 120_000,
});
if (built.status !== 0) {
  rmSync(partial, { force: true });
  // Under CI a broken native build fails the build; elsewhere (another compiler version warning
  // about something new, say) the service still works with the Node program, and says so.
  const ci = /^(1|true|yes)$/i.test(process.env.CI ?? '');
  console.error(
    `native sandbox program: ${cc} failed (${built.error?.message ?? `exit ${built.status}`})` +
      (ci ? '' : '; the Node sandbox program is used'),
  );
  process.exit(ci ? 1 : 0);
}
chmodSync(partial, 0o755);
renameSync(partial, out); // atomic: concurrent test workers never run half a file
if (at === -1) console.log(`native sandbox program: built ${out}`);
