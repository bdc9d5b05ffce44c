import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * Tests that need a system tool (bubblewrap, chromium, nginx, …) go through `requireTool`, so that
 * `npm ci && npm test` passes on a fresh machine: without the tool, the suite is skipped with one
 * line naming the install command. Under `CI=true` the tool is mandatory (`.ci/run` installs it):
 * a missing tool is one failing test saying what to install, never a silent skip.
 *
 *   requireTool('bwrap', 'apt-get install bubblewrap')('sandboxed shells', () => { … });
 */
export interface ToolOptions {
  /** Arguments for a real run of the tool that must exit 0 (e.g. bwrap creating a namespace). */
  probe?: string[];
}

/** The executable `name` resolves to on PATH (or `name` itself when absolute), if any. */
export function findTool(name: string): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why `name` cannot be used here (not found, or its probe failed), or undefined when it can. */
export function toolProblem(name: string, options: ToolOptions = {}): string | undefined {
  const path = findTool(name);
  if (!path) return `${name} was not found on PATH`;
  if (!options.probe) return undefined;
  const run = spawnSync(path, options.probe, { encoding: 'utf8', timeout: 10_000 });
  if (run.status === 0) return undefined;
  const said = `${run.stderr ?? ''}`.trim().split('\n')[0] || run.error?.message || 'no output';
  return `\`${name} ${options.probe.join(' ')}\` failed (${said})`;
}

/** True when the suite runs as CI (`CI=true` or `CI=1`): every tool is then mandatory. */
export function isCi(): boolean {
  return /^(1|true|yes)$/i.test(process.env.CI ?? '');
}

const checked = new Map<string, string | undefined>();

/**
 * `describe` when the tool is usable; otherwise, outside CI, `describe.skip` after one line on
 * stderr (`skipped "<suite>": bwrap was not found on PATH; install it: apt-get install bubblewrap`);
 * under CI, a suite whose single test fails with that message.
 */
export function requireTool(
  name: string,
  install: string,
  options: ToolOptions = {},
): jest.Describe {
  const key = `${name}\0${(options.probe ?? []).join('\0')}`;
  if (!checked.has(key)) checked.set(key, toolProblem(name, options));
  const problem = checked.get(key);
  if (!problem) return describe;
  const message = `${problem}; install it: ${install}`;
  if (isCi()) {
    return ((suite: string, body: () => void) =>
      describe(suite, () => {
        it(`needs ${name} (mandatory under CI)`, () => {
          throw new Error(message);
        });
        describe.skip('(not run)', body);
      })) as unknown as jest.Describe;
  }
  return ((suite: string, body: () => void) => {
    process.stderr.write(`skipped "${suite}": ${message}\n`);
    describe.skip(suite, body);
  }) as unknown as jest.Describe;
}

/** The probe for bubblewrap: creating the namespaces the sandbox uses, not just `--version`. */
export const BWRAP_PROBE = ['--unshare-all', '--ro-bind', '/', '/', '--proc', '/proc', 'true'];

/** `requireTool` for the tools this suite uses, with their Debian install commands. */
export const needs = {
  bwrap: (): jest.Describe =>
    requireTool('bwrap', 'apt-get install bubblewrap', { probe: BWRAP_PROBE }),
  chromium: (): jest.Describe => requireTool('chromium', 'apt-get install chromium'),
  nginx: (): jest.Describe => requireTool('nginx', 'apt-get install nginx'),
  prlimit: (): jest.Describe =>
    requireTool('prlimit', 'apt-get install util-linux', { probe: ['--version'] }),
  /** A C compiler, for the native sandbox program (src/sandbox/native). */
  cc: (): jest.Describe =>
    requireTool(process.env.CC || 'cc', 'apt-get install gcc libc6-dev', { probe: ['--version'] }),
};
