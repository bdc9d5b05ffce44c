import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBuilt } from '../support/built-server';
import { trackChild } from '../support/child-processes';
import { cleanUp } from '../support/clean-up';
import type { TestDatabase } from '../support/database';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { persistentDatabase, removeDir, tempDir } from '../support/server-process';
import { freePort } from '../support/wait';

const ROOT = join(__dirname, '..', '..');

/** A fenced block of README.md the line `<!-- tour -->` marks (the tour's script, in order). */
interface TourBlock {
  lang: 'sh' | 'ts';
  code: string;
  line: number;
}

/**
 * Only marked blocks are run, so other sections can add examples freely; a marked block that is
 * neither `sh` nor `ts`, or an unterminated one, fails the test instead of being skipped.
 */
export function tourBlocks(markdown: string): TourBlock[] {
  const lines = markdown.split('\n');
  const blocks: TourBlock[] = [];
  lines.forEach((line, i) => {
    if (line.trim() !== '<!-- tour -->') return;
    const fence = /^```(\w+)\s*$/.exec(lines[i + 1] ?? '');
    if (!fence || !['sh', 'ts'].includes(fence[1])) {
      throw new Error(`README.md:${i + 1}: <!-- tour --> must be followed by a sh or ts block`);
    }
    const end = lines.findIndex((l, j) => j > i + 1 && l.startsWith('```'));
    if (end === -1) throw new Error(`README.md:${i + 2}: unterminated block`);
    blocks.push({
      lang: fence[1] as 'sh' | 'ts',
      code: lines.slice(i + 2, end).join('\n'),
      line: i + 2,
    });
  });
  return blocks;
}

/**
 * The README's tour, as a reader runs it: the marked blocks pasted in order into one fresh bash
 * in the repository (`npm start &` included), the TypeScript ones saved as `.mts` files and run
 * with `npx tsx`. Two substitutions only: the port (a free one instead of 8000) and the profile's
 * provider (the scripted LLM instead of OpenAI).
 */
describe('the README tour runs as written', () => {
  let llm: FakeLlmServer;
  let dir: string;
  let db: TestDatabase | undefined;
  let shell: ReturnType<typeof spawn> | undefined;

  beforeAll(() => ensureBuilt(), 180_000);
  afterAll(() =>
    cleanUp(
      () => shell?.pid && killGroup(shell.pid),
      () => llm?.close(),
      () => db?.drop(),
      () => dir && removeDir(dir),
    ),
  );

  it('every marked sh and ts block succeeds, in order, against the service', async () => {
    const blocks = tourBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.map((b) => b.lang)).toEqual(['sh', 'sh', 'sh', 'ts', 'ts', 'sh']);
    llm = await FakeLlmServer.start({ handler: () => fakeReply.text('Done: hello.py prints hi.') });
    dir = tempDir('gw-tour-');
    db = await persistentDatabase(dir);
    const port = await freePort();
    // inside the repository, so that `import OpenAI from 'openai'` resolves as for a reader
    const scripts = join(ROOT, 'test', 'artifacts', `readme-tour-${process.pid}`);
    mkdirSync(scripts, { recursive: true });

    let profileSubstituted = false;
    const script = ['set -e', `cd ${JSON.stringify(ROOT)}`];
    blocks.forEach((block, i) => {
      let code = block.code.replaceAll('127.0.0.1:8000', `127.0.0.1:${port}`);
      const withLlm = code.replace(
        '"api_key": "sk-your-provider-key"}',
        `"api_key": "sk-your-provider-key", "base_url": "${llm.url}"}`,
      );
      profileSubstituted ||= withLlm !== code;
      code = withLlm;
      script.push(`echo '### README.md:${block.line}'`);
      if (block.lang === 'sh') {
        script.push(code);
      } else {
        const file = join(scripts, `tour-${i}.mts`);
        writeFileSync(file, `${code}\n`);
        script.push(`npx tsx ${JSON.stringify(file)}`);
      }
    });
    script.push('kill %1');
    // the reader's profile is stored with the scripted LLM as its provider: the tour still
    // stores a profile with exactly this body, or this test needs to learn the new one
    expect(profileSubstituted).toBe(true);
    writeFileSync(join(scripts, 'tour.sh'), `${script.join('\n')}\n`);

    const { code, output } = await run(join(scripts, 'tour.sh'), {
      ...cleanEnv(),
      ...(db.env.DATABASE_URL ? { DATABASE_URL: db.env.DATABASE_URL } : db.env),
      NODE_ENV: 'test', // a developer's .env stays out of it
      LOG_LEVEL: 'warn',
      PORT: String(port),
      OH_PERSISTENCE_DIR: join(dir, 'data'),
      OH_WORKSPACE_PATH: join(dir, 'workspace'),
    });
    removeDir(scripts);

    expect({ code, output }).toEqual({ code: 0, output: expect.any(String) });
    expect(output).toContain(`"message":"Profile 'default' created."`);
    expect(output).toContain('"api_key_set":true');
    expect(output).toContain('"id":"openhands_default"');
    expect(output).toMatch(/^openhands_default$/m); // the models.list() loop
    expect(output).toContain('Done: hello.py prints hi.');
    expect(output).toMatch(/^HTTP\/1\.1 200 OK/m); // curl -si
    expect(output).not.toMatch(/authentication_error|Missing credentials|"error"/);
    // two turns of the chat snippet and one of curl
    expect(llm.requests.length).toBe(3);
  }, 300_000);

  function run(
    path: string,
    env: Record<string, string>,
  ): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      // its own process group: `npm start &` and the service go when the group is killed
      shell = spawn('bash', [path], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      trackChild(shell);
      let output = '';
      shell.stdout?.on('data', (d: Buffer) => (output += d.toString()));
      shell.stderr?.on('data', (d: Buffer) => (output += d.toString()));
      const timer = setTimeout(() => shell?.pid && killGroup(shell.pid), 240_000);
      shell.on('error', reject);
      shell.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }
});

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** The test runner's environment without the service's own settings. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] =>
        e[1] !== undefined &&
        !/^(OH_|SESSION_API_KEY$|DATABASE_URL$|PGLITE_|NODE_ENV$|HOST$|PORT$|LOG_LEVEL$|KEY$)/.test(
          e[0],
        ),
    ),
  );
}
