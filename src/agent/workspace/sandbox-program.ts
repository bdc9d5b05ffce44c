import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** `src/sandbox` in the sources, `dist/sandbox` once built. */
const PROGRAM_SOURCES = path.resolve(__dirname, '..', '..', 'sandbox');

/**
 * The directory holding the sandbox program (`main.js` and its siblings, nothing else), which a
 * sandbox mounts read-only. Built (`dist/`): `dist/sandbox`. Run from the TypeScript sources
 * (tests, `tsx`): `src/sandbox/main.ts` bundled once into one file under the temp directory,
 * named after a hash of the sources.
 */
export function sandboxProgramDir(): string {
  if (fs.existsSync(path.join(PROGRAM_SOURCES, 'main.js'))) return PROGRAM_SOURCES;
  const entry = path.join(PROGRAM_SOURCES, 'main.ts');
  if (!fs.existsSync(entry)) {
    throw new Error(`the sandbox program is missing: no main.js or main.ts in ${PROGRAM_SOURCES}`);
  }
  const hash = createHash('sha256');
  for (const name of fs.readdirSync(PROGRAM_SOURCES).sort()) {
    if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) {
      hash.update(name).update(fs.readFileSync(path.join(PROGRAM_SOURCES, name)));
    }
  }
  const dir = path.join(os.tmpdir(), `agent-gateway-sandbox-${hash.digest('hex').slice(0, 16)}`);
  const main = path.join(dir, 'main.js');
  if (fs.existsSync(main)) return dir;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755); // readable by the sandbox's own user when the service runs as root
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
