import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

describe('npm start (prestart: scripts/build-if-stale.mjs)', () => {
  let dir: string;
  beforeAll(() => {
    // a copy of the script in a project of its own: src/, the config files and dist/main.js
    dir = mkdtempSync(join(tmpdir(), 'gw-prestart-'));
    mkdirSync(join(dir, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/build-if-stale.mjs'), join(dir, 'scripts/build-if-stale.mjs'));
    mkdirSync(join(dir, 'src/deep'), { recursive: true });
    writeFileSync(join(dir, 'src/deep/a.ts'), '');
    for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json'])
      writeFileSync(join(dir, f), '{}');
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/main.js'), '');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const at = (path: string, seconds: number) =>
    utimesSync(join(dir, path), new Date(seconds * 1000), new Date(seconds * 1000));
  const check = () =>
    spawnSync(process.execPath, [join(dir, 'scripts/build-if-stale.mjs'), '--check'], {
      encoding: 'utf8',
    });

  it('does not rebuild when dist/ is newer than every source, and does when one is newer', () => {
    for (const path of ['src/deep/a.ts', 'src/deep', 'src', 'package.json', 'tsconfig.json'])
      at(path, 1_000);
    for (const path of ['tsconfig.build.json', 'nest-cli.json']) at(path, 1_000);
    at('dist/main.js', 2_000);
    expect(check()).toMatchObject({ status: 0, stdout: 'dist/ is current\n' });
    at('src/deep/a.ts', 3_000);
    expect(check()).toMatchObject({ status: 1, stdout: 'dist/ is stale\n' });
    at('src/deep/a.ts', 1_000);
    at('package.json', 3_000); // new dependencies
    expect(check()).toMatchObject({ status: 1 });
  });

  it('is what npm start runs first', () => {
    const scripts = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
        scripts: Record<string, string>;
      }
    ).scripts;
    expect(scripts.prestart).toBe('node scripts/build-if-stale.mjs');
    expect(scripts.start).toBe('node dist/main');
  });
});
