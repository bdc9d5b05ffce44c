/**
 * `npm run bench:sandbox` (also the end of `npm run bench`): what the sandbox costs
 * (docs/benchmarks.md). Sandboxes made exactly as the service makes them (`createWorkspaceRuntime`
 * with the default settings: bubblewrap when it works here, as the sandbox user when root).
 *
 * - cold start: a new conversation's first tool call, until its answer (`true` in the terminal;
 *   and a `file_editor` view, which needs no shell);
 * - warm call overhead: `true` through the sandbox minus `true` in a plain local bash session;
 * - RSS of one idle sandbox: every process of it (bwrap, the sandbox program, bash), from /proc.
 * Each figure for both sandbox programs: the native one (C) and the Node one (`OH_SANDBOX_PROGRAM`).
 * Environment: `BENCH_SCALE` (e.g. 0.3 for a quick run), `BENCH_PROGRAMS` (default `native,node`).
 */
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { agentConfig } from '../src/config/agent.config';
import { reloadEnv } from '../src/config/load-env';
import { ChildProcessTransport } from '../src/agent/workspace/sandbox-client';
import { createWorkspaceRuntime } from '../src/agent/workspace/sandbox-backend';
import type { SandboxProgramKind } from '../src/agent/workspace/sandbox-program';
import type { SandboxRuntime } from '../src/agent/workspace/sandbox-runtime';
import { BashSession } from '../src/sandbox/bash-session';
import { distribution, round, type Distribution } from './stats';

const SCALE = Number(process.env.BENCH_SCALE ?? 1);
const scaled = (n: number, min = 5) => Math.max(min, Math.round(n * SCALE));

export interface SandboxBench {
  mode: string;
  program: SandboxProgramKind;
  coldStartTerminalMs: Distribution;
  coldStartEditorMs: Distribution;
  warmSandboxMs: Distribution;
  warmLocalMs: Distribution;
  warmOverheadP50Ms: number;
  /** `total`: VmRSS summed; `private`: RssAnon summed (what one more sandbox costs). */
  idleRssMiB: { total: number; private: number; processes: Record<string, number> };
  load: number;
}

export async function measureSandbox(
  program: SandboxProgramKind = 'native',
): Promise<SandboxBench> {
  const dir = fs.mkdtempSync(join(tmpdir(), 'gw-bench-sandbox-'));
  fs.chmodSync(dir, 0o711);
  const pids: number[] = [];
  let runtime: SandboxRuntime | undefined;
  try {
    reloadEnv();
    const config = {
      ...agentConfig(),
      workspaceRoot: join(dir, 'workspace'),
      sandboxProgram: program,
    };
    const made = await createWorkspaceRuntime(config);
    // The same runtime, with a transport that remembers the sandbox pids (for RSS).
    runtime = made;
    Object.assign(made as unknown as { options: object }, {
      options: {
        ...(made as unknown as { options: object }).options,
        connect: (launch: ConstructorParameters<typeof ChildProcessTransport>[0]) => {
          const transport = new ChildProcessTransport(launch);
          pids.push(transport.pid);
          return transport;
        },
      },
    });
    const signal = new AbortController().signal;
    const terminal = (id: string, command: string) =>
      made.exec(id, join(config.workspaceRoot, id), {
        command,
        isInput: false,
        reset: false,
        signal,
      });

    const cold: number[] = [];
    const coldEditor: number[] = [];
    for (let i = 0; i < scaled(30); i++) {
      let started = performance.now();
      await terminal(`cold-${i}`, 'true');
      cold.push(performance.now() - started);
      const id = `cold-editor-${i}`;
      started = performance.now();
      await made.editor(
        id,
        join(config.workspaceRoot, id),
        {
          command: 'view',
          path: made.mode === 'bwrap' ? '/workspace' : join(config.workspaceRoot, id),
        },
        signal,
      );
      coldEditor.push(performance.now() - started);
      await made.dispose(`cold-${i}`);
      await made.dispose(id);
    }

    await terminal('warm', 'true');
    const warm: number[] = [];
    for (let i = 0; i < scaled(300, 50); i++) {
      const started = performance.now();
      await terminal('warm', 'true');
      warm.push(performance.now() - started);
    }
    const localDir = join(dir, 'local');
    fs.mkdirSync(localDir);
    const local = await BashSession.start({
      cwd: localDir,
      workspaceDir: localDir,
      env: config.shellEnv,
    });
    const plain: number[] = [];
    for (let i = 0; i < scaled(300, 50); i++) {
      const started = performance.now();
      await local.execute({ command: 'true', isInput: false, reset: false, signal });
      plain.push(performance.now() - started);
    }
    await local.kill();

    await new Promise((resolve) => setTimeout(resolve, 500)); // idle
    const rss = sandboxRss(pids.at(-1) as number);
    const warmSandboxMs = distribution(warm);
    const warmLocalMs = distribution(plain);
    return {
      mode: made.mode,
      program: made.program,
      coldStartTerminalMs: distribution(cold),
      coldStartEditorMs: distribution(coldEditor),
      warmSandboxMs,
      warmLocalMs,
      warmOverheadP50Ms: round(warmSandboxMs.p50 - warmLocalMs.p50),
      idleRssMiB: rss,
      load: round(loadavg()[0]),
    };
  } finally {
    await runtime?.disposeAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** VmRSS of a process and all its descendants, in MiB, by command name. */
function sandboxRss(root: number): SandboxBench['idleRssMiB'] {
  const all = fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => {
      try {
        const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
        const status = fs.readFileSync(`/proc/${name}/status`, 'utf8');
        const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
        const anon = Number(/RssAnon:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return { pid: Number(name), ppid, comm, rss, anon };
      } catch {
        return null;
      }
    })
    .filter((p): p is NonNullable<typeof p> => p !== null);
  const tree = new Set([root]);
  for (let grew = true; grew;) {
    grew = false;
    for (const p of all) {
      if (!tree.has(p.pid) && tree.has(p.ppid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  const processes: Record<string, number> = {};
  let total = 0;
  let anon = 0;
  for (const p of all.filter((p) => tree.has(p.pid))) {
    processes[`${p.comm} (${p.pid})`] = round(p.rss, 1);
    total += p.rss;
    anon += p.anon;
  }
  return { total: round(total, 1), private: round(anon, 1), processes };
}

/** Both programs, one after the other, with the machine's load around them. */
async function main(): Promise<void> {
  const programs = (process.env.BENCH_PROGRAMS ?? 'native,node').split(',') as SandboxProgramKind[];
  const loadBefore = loadavg().map((l) => round(l));
  const results: SandboxBench[] = [];
  for (const program of programs) results.push(await measureSandbox(program));
  console.log(
    JSON.stringify({ loadBefore, loadAfter: loadavg().map((l) => round(l)), results }, null, 2),
  );
  for (const r of results) {
    console.log(
      `${r.program.padEnd(6)} (${r.mode}): cold start p50 ${r.coldStartTerminalMs.p50} ms ` +
        `(editor ${r.coldStartEditorMs.p50} ms), warm overhead p50 ${r.warmOverheadP50Ms} ms, ` +
        `idle RSS ${r.idleRssMiB.total} MiB (private ${r.idleRssMiB.private} MiB), load ${r.load}`,
    );
  }
}

if (require.main === module) {
  void main().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
