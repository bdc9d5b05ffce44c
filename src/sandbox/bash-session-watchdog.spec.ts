import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processes, waitFor } from '../../test/support/wait';

const ROOT = join(__dirname, '..', '..');

describe('a local shell when the service dies', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oh-watchdog-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is killed with everything it started when the service is SIGKILLed', async () => {
    const marker = `60.${process.pid}${Date.now() % 1000}`;
    const script = join(dir, 'service.ts');
    writeFileSync(
      script,
      `import { BashSession } from ${JSON.stringify(join(ROOT, 'src/sandbox/bash-session'))};
       (async () => {
         const session = await BashSession.start({ cwd: ${JSON.stringify(dir)}, workspaceDir: ${JSON.stringify(dir)}, env: { PATH: process.env.PATH ?? '' } });
         void session.execute({ command: '(sleep ${marker} &) ; sleep ${marker}', isInput: false, signal: new AbortController().signal });
         console.log('started');
       })();`,
    );
    const service = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) =>
      service.stdout.on('data', (d: Buffer) => d.toString().includes('started') && resolve()),
    );
    await waitFor(() => processes(`sleep ${marker}`).length === 2, 10_000);

    service.kill('SIGKILL');
    await waitFor(() => processes(`sleep ${marker}`).length === 0, 3_000);
  });
});
