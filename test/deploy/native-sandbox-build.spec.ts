import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { needs } from '../support/system-tools';

const ROOT = path.join(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'build-native-sandbox.mjs');

/** `npm run build`'s native step, with the compiler it is given (`CC`). */
function build(out: string, env: Record<string, string>) {
  const run = spawnSync(process.execPath, [SCRIPT, '--out', out], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    timeout: 120_000,
  });
  return { status: run.status, said: `${run.stdout}${run.stderr}`.trim() };
}

describe('scripts/build-native-sandbox.mjs', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-native-build-'));
  const out = path.join(dir, 'oh-sandbox');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('skips with one line when no C compiler exists (the Node program is then used)', () => {
    const result = build(out, { CC: path.join(dir, 'no-such-cc'), CI: '' });
    expect(result.status).toBe(0);
    expect(result.said.split('\n')).toEqual([
      `native sandbox program: no C compiler (${path.join(dir, 'no-such-cc')}) found, skipped; the Node sandbox program is used`,
    ]);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('fails the build under CI when the compiler fails, and only warns elsewhere', () => {
    const broken = path.join(dir, 'broken-cc');
    fs.writeFileSync(
      broken,
      '#!/bin/sh\n[ "$1" = --version ] && exit 0\necho broken >&2\nexit 1\n',
    );
    fs.chmodSync(broken, 0o755);
    expect(build(out, { CC: broken, CI: 'true' }).status).toBe(1);
    const local = build(out, { CC: broken, CI: '' });
    expect(local.status).toBe(0);
    expect(local.said).toContain('failed (exit 1); the Node sandbox program is used');
    expect(fs.existsSync(out)).toBe(false);
  });
});

needs.cc()('scripts/build-native-sandbox.mjs with a C compiler', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oh-native-build-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('builds, warning-free (-Werror), a program that answers the protocol', () => {
    const out = path.join(dir, 'oh-sandbox');
    expect(build(out, { CI: 'true' })).toEqual({ status: 0, said: '' });
    expect(fs.statSync(out).mode & 0o755).toBe(0o755);
    const hello = spawnSync(out, [], {
      input: `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'hello', params: { protocol: 1, settings: { workspace: dir } } })}\n`,
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(hello.status).toBe(0);
    expect(JSON.parse(hello.stdout)).toEqual({
      jsonrpc: '2.0',
      id: 1,
      result: { protocol: 1, pid: hello.pid, workspace: dir },
    });
  });
});
