import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nativeBuildFlags } from '../../config/load-env';

/** `src/sandbox` in the sources, `dist/sandbox` once built. */
const PROGRAM_SOURCES = path.resolve(__dirname, '..', '..', 'sandbox');
const NATIVE_NAME = 'oh-sandbox';

/** Which implementation of the sandbox program runs: the C one (`native`) or the Node one. */
export type SandboxProgramKind = 'native' | 'node';
/** `OH_SANDBOX_PROGRAM`: `auto` (default) prefers the native program when it is built. */
export type SandboxProgramChoice = SandboxProgramKind | 'auto';

/** A sandbox program: the directory a sandbox mounts read-only, and the file in it to run. */
export interface SandboxProgram {
  kind: SandboxProgramKind;
  dir: string;
  entry: string;
}

/** The program `choice` asks for; throws when `native` is asked for and cannot be built. */
export function sandboxProgram(choice: SandboxProgramChoice = 'auto'): SandboxProgram {
  if (choice !== 'node') {
    const dir = nativeProgramDir();
    if (dir !== null) return { kind: 'native', dir, entry: NATIVE_NAME };
    if (choice === 'native') {
      throw new Error(
        'OH_SANDBOX_PROGRAM=native, but the native sandbox program is not built: install a C ' +
          'compiler (Debian/Ubuntu: apt-get install gcc libc6-dev) and run `npm run build`, or ' +
          'set OH_SANDBOX_PROGRAM=auto',
      );
    }
  }
  return { kind: 'node', dir: sandboxProgramDir(), entry: 'main.js' };
}

/** Whether the service runs from `dist/` (built) rather than from the TypeScript sources. */
function built(): boolean {
  return fs.existsSync(path.join(PROGRAM_SOURCES, 'main.js'));
}

/**
 * The directory holding the Node sandbox program (`main.js` and its siblings, nothing else),
 * which a sandbox mounts read-only. Built (`dist/`): `dist/sandbox`. Run from the TypeScript
 * sources (tests, `tsx`): `src/sandbox/main.ts` bundled once into one file under the temp
 * directory, named after a hash of the sources.
 */
export function sandboxProgramDir(): string {
  if (built()) return PROGRAM_SOURCES;
  const entry = path.join(PROGRAM_SOURCES, 'main.ts');
  if (!fs.existsSync(entry)) {
    throw new Error(`the sandbox program is missing: no main.js or main.ts in ${PROGRAM_SOURCES}`);
  }
  const dir = cacheDir(
    'sandbox',
    PROGRAM_SOURCES,
    (name) => name.endsWith('.ts') && !name.endsWith('.spec.ts'),
  );
  const main = path.join(dir, 'main.js');
  if (fs.existsSync(main)) return dir;
  // A dev dependency, needed only when running from sources.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  const partial = `${main}.${process.pid}.tmp`;
  esbuild.buildSync({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile: partial,
    logLevel: 'silent',
  });
  fs.chmodSync(partial, 0o644);
  fs.renameSync(partial, main); // atomic: concurrent test workers never run half a file
  return dir;
}

/**
 * The directory holding the native sandbox program (`oh-sandbox` alone), or null when it is not
 * built. Built: `dist/sandbox/native` (made by `npm run build` when a C compiler exists). From
 * the sources: compiled once by `scripts/build-native-sandbox.mjs` into the temp directory,
 * named after a hash of the C sources; null when no C compiler is found.
 */
export function nativeProgramDir(): string | null {
  const sources = path.join(PROGRAM_SOURCES, 'native');
  if (built() || !fs.existsSync(sources)) {
    return fs.existsSync(path.join(sources, NATIVE_NAME)) ? sources : null;
  }
  // A build with other flags (OH_SANDBOX_CFLAGS, a sanitizer build) or compiler is another build.
  const dir = cacheDir('oh-sandbox', sources, (name) => /\.[ch]$/.test(name), nativeBuildFlags());
  const binary = path.join(dir, NATIVE_NAME);
  if (fs.existsSync(binary)) return dir;
  const script = path.resolve(PROGRAM_SOURCES, '..', '..', 'scripts', 'build-native-sandbox.mjs');
  const run = spawnSync(process.execPath, [script, '--out', binary], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (run.status !== 0) {
    throw new Error(
      `building the native sandbox program failed: ${run.stderr || run.error?.message}`,
    );
  }
  return fs.existsSync(binary) ? dir : null; // not built: no C compiler
}

/** A directory under the temp directory named after a hash of the files `pick` takes. */
function cacheDir(
  prefix: string,
  sources: string,
  pick: (name: string) => boolean,
  flags = '',
): string {
  const hash = createHash('sha256').update(flags);
  for (const name of fs.readdirSync(sources).sort()) {
    if (pick(name)) hash.update(name).update(fs.readFileSync(path.join(sources, name)));
  }
  const dir = path.join(os.tmpdir(), `agent-gateway-${prefix}-${hash.digest('hex').slice(0, 16)}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755); // readable by the sandbox's own user when the service runs as root
  return dir;
}
