import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/**
 * Starts `src/main.ts` the way a user would (no NODE_ENV=test, so `.env` in the working directory
 * is read) and returns how it ended. Configuration is checked before Nest boots, so tsx (which
 * emits no decorator metadata) is enough to reach the verdict.
 */
function start(
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(OH_|SESSION_API_KEY$|DATABASE_URL$|PGLITE_|NODE_ENV$|HOST$|PORT$|LOG_LEVEL$)/.test(
          name,
        ),
    ),
  );
  return new Promise((resolve, reject) => {
    const child = spawn(
      TSX,
      ['--tsconfig', join(ROOT, 'tsconfig.json'), join(ROOT, 'src/main.ts')],
      {
        cwd,
        env: { ...clean, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('starting the service', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gw-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a non-loopback HOST from .env when no session key is configured', async () => {
    writeFileSync(join(dir, '.env'), 'HOST=0.0.0.0\nPORT=0\n');
    const { code, stderr, stdout } = await start(dir, {});
    expect(code).toBe(1);
    expect(stderr).toContain('Invalid configuration:');
    expect(stderr).toContain('HOST: refusing to listen on non-loopback address "0.0.0.0"');
    expect(`${stdout}${stderr}`).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('lists every bad variable in one message, with the real environment winning over .env', async () => {
    writeFileSync(join(dir, '.env'), 'PORT=8000\nLOG_LEVEL=verbose\n');
    const { code, stderr } = await start(dir, {
      PORT: 'eighty',
      OH_MAX_ITERATIONS: '0',
      OH_SECRET_KEY: 'short-secret',
    });
    expect(code).toBe(1);
    const problems = stderr.split('\n').filter((line) => line.startsWith('  - '));
    expect(problems.map((p) => p.slice(4).split(/[=:]/)[0]).sort()).toEqual([
      'LOG_LEVEL',
      'OH_MAX_ITERATIONS',
      'OH_SECRET_KEY',
      'PORT',
    ]);
    expect(stderr).toContain('PORT="eighty"'); // from the environment, not .env's 8000
    expect(stderr).not.toContain('short-secret');
  });
});
