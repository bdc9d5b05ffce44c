import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const MAIN_JS = join(ROOT, 'dist', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path: string) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
};

/**
 * Tests that run the service as a child process (the example, crash recovery) need `dist/`.
 * CI builds first; locally this builds when `dist/main.js` is missing or older than `src/`,
 * once, even with several jest workers asking at the same time.
 */
/** What dist/ is built from: the same inputs `npm start`'s freshness check (prestart) reads. */
const newestInput = () =>
  Math.max(
    newestSource(join(ROOT, 'src')),
    ...[
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'nest-cli.json',
    ].map((file) => mtime(join(ROOT, file))),
  );

export function ensureBuilt(): void {
  if (mtime(MAIN_JS) >= newestInput()) {
    // built before a C compiler was there (or by an older build): add the native sandbox program
    if (!existsSync(join(ROOT, 'dist', 'sandbox', 'native', 'oh-sandbox'))) buildNative();
    return;
  }
  const lock = join(ROOT, 'dist.build-lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      execFileSync('sleep', ['0.2']);
      if (mtime(MAIN_JS) >= newestInput()) return;
    }
  }
  try {
    if (mtime(MAIN_JS) < newestInput()) {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules', '@nestjs', 'cli', 'bin', 'nest.js'), 'build'],
        {
          cwd: ROOT,
          stdio: 'ignore',
        },
      );
      buildNative(); // as `npm run build` does
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The native sandbox program into dist/, when a C compiler exists (else the script skips it). */
function buildNative(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-native-sandbox.mjs')], {
    cwd: ROOT,
    stdio: 'ignore',
  });
}
