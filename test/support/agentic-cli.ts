import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeAgentApp, startAgentApp, type AgentApp } from './agent-app';

/** What a headless run of an agentic CLI (Codex, opencode) against the service needs. */
export interface CliBench extends AgentApp {
  /** A temp dir for the CLI's home and project, removed after the suite. */
  dir: string;
}

/**
 * Registers the suite's setup: the scripted LLM, the app, profile `profile` (model
 * `openhands_<profile>`) on the scripted LLM without retries, and a temp dir. The returned object
 * is filled in `beforeAll`.
 */
export function useCliBench(profile: string): CliBench {
  const bench = {} as CliBench;
  beforeAll(async () => {
    Object.assign(
      bench,
      await startAgentApp({ OH_LLM_BACKOFF_MS: '5' }, { [profile]: { num_retries: 0 } }),
    );
    bench.dir = mkdtempSync(join(tmpdir(), `gw-${profile}-`));
  });
  afterAll(async () => {
    await closeAgentApp(bench);
    if (bench.dir) rmSync(bench.dir, { recursive: true, force: true });
  });
  return bench;
}

export interface CliRun {
  /** 0 on success; the exit code, or 1 when killed (timeout). */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with stdin closed (Codex reads more prompt from a piped stdin until it closes). */
export function runCli(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}
