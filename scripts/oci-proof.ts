/**
 * The container half of scripts/oci-proof.sh: runs the image it built with podman under the
 * security options of docker-compose.yml and proves, through the HTTP API, that agent shells run
 * in bubblewrap inside the container; then shows that Docker's default seccomp profile (alone, or
 * with CAP_SYS_ADMIN) or a masked /proc make the service refuse to start beyond loopback.
 *
 *   npx tsx scripts/oci-proof.ts IMAGE    (as root, with podman and runc; prints each check)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { parse } from 'yaml';
import { FakeLlmServer, fakeReply } from '../test/support/fake-llm-server';
import { freePort, sleep } from '../test/support/wait';

const ROOT = join(__dirname, '..');
const IMAGE = process.argv[2] ?? 'agent-gateway:oci-proof';
const KEY = `oci-proof-${process.pid}-0123456789`;
/**
 * This host: hybrid cgroups need runc (podman's crun default fails there), and podman's default
 * rlimits exceed what a process without CAP_SYS_RESOURCE may set.
 */
const HOST_QUIRKS = [
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=20000:20000',
  '--ulimit',
  'nproc=32768:32768',
];
const PROFILE = join(ROOT, 'deploy/seccomp.json');
const DOCKER_DEFAULT = join(ROOT, 'deploy/seccomp/moby-default.json');

/** docker-compose.yml's security_opt, in podman's words (it says unmask=ALL for systempaths). */
function composeSecurityOptions(): string[] {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as {
    services: { gateway: { security_opt: string[] } };
  };
  return compose.services.gateway.security_opt.flatMap((opt) => {
    if (opt === 'systempaths=unconfined') return ['--security-opt', 'unmask=ALL'];
    const seccomp = /^seccomp=(.+)$/.exec(opt);
    if (seccomp) return ['--security-opt', `seccomp=${join(ROOT, seccomp[1])}`];
    throw new Error(`docker-compose.yml has a security option this proof does not know: ${opt}`);
  });
}

function podman(args: string[], timeoutMs = 60_000) {
  const run = spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs });
  return { status: run.status, out: `${run.stdout ?? ''}${run.stderr ?? ''}`.trim() };
}

let failures = 0;
function check(what: string, ok: boolean, detail = ''): void {
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? `\n       ${detail.replace(/\n/g, '\n       ')}` : ''}`,
  );
  if (!ok) failures++;
}

/** Starts the service in a container on the host's network; its name, port and a stop function. */
function start(name: string, options: string[], port: number) {
  podman(['rm', '-f', name]);
  const run = podman([
    'run',
    '-d',
    '--name',
    name,
    '--network',
    'host',
    ...HOST_QUIRKS,
    ...options,
    '-e',
    `PORT=${port}`,
    '-e',
    `OH_SESSION_API_KEYS_0=${KEY}`,
    IMAGE,
  ]);
  if (run.status !== 0) throw new Error(`podman run failed: ${run.out}`);
  return { logs: () => podman(['logs', name]).out, stop: () => podman(['rm', '-f', name]) };
}

async function waitReady(name: string, port: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (podman(['inspect', '-f', '{{.State.Running}}', name]).out !== 'true') return false;
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).ok) return true;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  return false;
}

async function sandboxed(llm: FakeLlmServer): Promise<void> {
  const port = await freePort();
  const name = `agent-gateway-oci-proof-${process.pid}`;
  const options = composeSecurityOptions();
  console.log(`\n== the compose file's options: ${options.join(' ')}`);
  const container = start(name, options, port);
  try {
    const t0 = Date.now();
    const ready = await waitReady(name, port, 90_000);
    check(`the service is ready (${Date.now() - t0} ms)`, ready, ready ? '' : container.logs());
    if (!ready) return;
    const info = (await (await fetch(`http://127.0.0.1:${port}/server_info`)).json()) as {
      sandbox: string;
      sandbox_program?: string;
    };
    check('/server_info says sandbox "bwrap"', info.sandbox === 'bwrap', JSON.stringify(info));
    // the Dockerfile compiles the native sandbox program; the image here carries the host's build
    const native = existsSync(join(ROOT, 'dist/sandbox/native/oh-sandbox'));
    check(
      `and the ${native ? 'native' : 'node'} sandbox program`,
      info.sandbox_program === (native ? 'native' : 'node'),
    );
    const pid1 = podman([
      'exec',
      name,
      'grep',
      '-E',
      '^(Name|Uid|CapEff|Seccomp):',
      '/proc/1/status',
    ]);
    check(
      'the container runs as uid 1000 (node) with no capability, under a seccomp filter',
      /Uid:\s+1000\b/.test(pid1.out) &&
        /CapEff:\s+0+\n/.test(`${pid1.out}\n`) &&
        /Seccomp:\s+2/.test(pid1.out),
      pid1.out,
    );
    const logged = container.logs();
    const line = /Agents run in bubblewrap sandboxes[^"\n]*/.exec(logged)?.[0] ?? '';
    check('the log says the agent runs in bubblewrap', line !== '', line || logged.slice(-2000));
    const cgroup = /No cgroup for sandboxes[^"\n]*/.exec(logged)?.[0];
    if (cgroup) console.log(`     (${cgroup})`);

    const openai = new OpenAI({
      apiKey: KEY,
      baseURL: `http://127.0.0.1:${port}/v1`,
      timeout: 60_000,
    });
    const saved = await fetch(`http://127.0.0.1:${port}/api/profiles/proof`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        llm: { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-test' },
      }),
    });
    check('a profile pointing at the scripted LLM on the host is stored', saved.status === 201);
    // PID 1 of the sandbox is bwrap (the container's is tini); the image's marker file; the
    // sandbox's network namespace has only its loopback; the workspace is at a fixed path.
    const command =
      'echo "pid1=$(cat /proc/1/comm) uid=$(id -u) image=$(cat /etc/oci-proof-image) ' +
      'netdevs=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | tr "\\n" ,) pwd=$(pwd)"';
    llm.enqueue(fakeReply.toolCall('terminal', { command }), fakeReply.text('Done.'));
    const answer = await openai.chat.completions.create({
      model: 'openhands_proof',
      messages: [{ role: 'user', content: 'Where do your commands run?' }],
    });
    const result = llm.requests.at(-1)?.toolResults.at(-1)?.content ?? '';
    check(
      'an agent turn through the scripted LLM completes',
      answer.choices[0].message.content === 'Done.',
    );
    check(
      'its shell command ran in bubblewrap inside the container (pid 1 bwrap, uid 1000, no network)',
      /pid1=bwrap uid=1000 image=agent-gateway-oci-proof netdevs=lo, pwd=\/workspace\b/.test(
        result,
      ),
      result.trim(),
    );
  } finally {
    container.stop();
  }
}

/** The service must not start beyond loopback under these options, and must say why. */
async function refused(what: string, options: string[], expected: RegExp): Promise<void> {
  const port = await freePort();
  const name = `agent-gateway-oci-proof-${process.pid}-refused`;
  console.log(`\n== ${what}: ${options.join(' ')}`);
  const container = start(name, options, port);
  try {
    const waited = podman(['wait', name], 90_000);
    const code = Number(waited.out.split('\n').at(-1));
    const logs = container.logs();
    const reason = /Refusing to listen on [^\n]*/.exec(logs)?.[0] ?? '';
    check(`the service exits (code ${waited.out})`, waited.status === 0 && code !== 0);
    check(
      'refusing to listen on 0.0.0.0 unsandboxed, with the reason and the fix',
      expected.test(reason) && reason.includes('seccomp profile and `systempaths=unconfined`'),
      reason || logs.slice(-2000),
    );
  } finally {
    container.stop();
  }
}

async function main(): Promise<void> {
  const llm = await FakeLlmServer.start();
  try {
    await sandboxed(llm);
    await refused(
      "Docker's default seccomp profile (no additions), /proc unmasked",
      ['--security-opt', `seccomp=${DOCKER_DEFAULT}`, '--security-opt', 'unmask=ALL'],
      /No permissions to create new namespace/,
    );
    // As root with CAP_SYS_ADMIN (Docker's default profile then allows unshare and mount), bwrap
    // still fails: the profile never allows pivot_root.
    console.log("\n== bwrap as root with CAP_SYS_ADMIN under Docker's default profile");
    const asRoot = podman([
      'run',
      '--rm',
      ...HOST_QUIRKS,
      '--user',
      'root',
      '--cap-add',
      'SYS_ADMIN',
      '--security-opt',
      `seccomp=${DOCKER_DEFAULT}`,
      '--security-opt',
      'unmask=ALL',
      '--entrypoint',
      'bwrap',
      IMAGE,
      '--unshare-all',
      '--ro-bind',
      '/',
      '/',
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      'true',
    ]);
    check(
      'bwrap fails at pivot_root',
      asRoot.status !== 0 && /pivot_root/.test(asRoot.out),
      asRoot.out,
    );
    await refused(
      "Docker's default profile with CAP_SYS_ADMIN instead of ours",
      [
        '--security-opt',
        `seccomp=${DOCKER_DEFAULT}`,
        '--security-opt',
        'unmask=ALL',
        '--cap-add',
        'SYS_ADMIN',
      ],
      /Unexpected capabilities|pivot_root|Operation not permitted/,
    );
    await refused(
      'our profile with /proc masked (no systempaths=unconfined)',
      ['--security-opt', `seccomp=${PROFILE}`],
      /Can't mount proc/,
    );
  } finally {
    await llm.close();
  }
  console.log(
    failures === 0 ? '\nOCI proof: all checks passed' : `\nOCI proof: ${failures} checks FAILED`,
  );
  process.exitCode = failures === 0 ? 0 : 1;
}

void main();
