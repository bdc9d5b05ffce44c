import * as fs from 'node:fs';
import { BashSession } from './bash-session';
import type { TerminalParams } from './protocol';
import type { TerminalResult } from './terminal.types';

export interface TerminalHostOptions {
  workspaceDir: string;
  env: Readonly<Record<string, string>>;
  noOutputTimeoutMs?: number;
  maxOutputChars?: number;
  maxCallChars?: number;
  commandTimeoutMs?: number;
}

/**
 * The conversation's persistent shell, inside its sandbox: started on first use, restarted (in
 * the last working directory) when it exited or was reset; calls run one after another.
 */
export class TerminalHost {
  private session: BashSession | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: TerminalHostOptions) {}

  exec(params: TerminalParams, signal: AbortSignal): Promise<TerminalResult> {
    const next = this.queue.then(
      () => this.run(params, signal),
      () => this.run(params, signal),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The shell's pid, or null when none runs. */
  get shellPid(): number | null {
    return this.session?.alive ? this.session.pid : null;
  }

  /** Kills the shell and everything it started. */
  async kill(): Promise<void> {
    const session = this.session;
    this.session = null;
    await session?.kill();
  }

  private async run(request: TerminalParams, signal: AbortSignal): Promise<TerminalResult> {
    const notes: string[] = [];
    let session = this.session;
    if (request.reset) {
      const cwd = session?.cwd;
      await session?.kill();
      session = await this.start(cwd);
      notes.push(
        `The terminal was reset: a new shell started in ${session.cwd}; ` +
          'variables and processes of the old one are gone.',
      );
      if (request.command.trim() === '') {
        return {
          status: 'completed',
          output: '',
          exitCode: 0,
          cwd: session.cwd,
          waitedMs: 0,
          notes,
        };
      }
    } else if (!session?.alive) {
      const ending = session?.ending;
      const byLimit = session?.killedByLimit ?? false;
      await session?.kill(); // what the old shell left running in the background
      session = await this.start(session?.cwd);
      if (ending) {
        const why = byLimit
          ? `was killed: a command ran longer than the limit of ${this.limitSeconds()} s`
          : ending.killed
            ? 'was stopped (its turn was cancelled or the terminal was disposed)'
            : `exited with code ${ending.exitCode}`;
        notes.push(
          `The previous shell ${why}, so a new shell started in ${session.cwd}; ` +
            'variables and background processes of the old one are gone.',
        );
      }
    }
    const result = await session.execute({ ...request, signal });
    if (result.status === 'cancelled' && session.killedByLimit) {
      notes.push(
        `The command ran longer than the limit of ${this.limitSeconds()} s per command: it was ` +
          'killed with the shell and everything it started.',
      );
    }
    return { ...result, notes: [...notes, ...result.notes] };
  }

  private limitSeconds(): number {
    return Math.round((this.options.commandTimeoutMs ?? 0) / 1000);
  }

  private async start(cwd?: string): Promise<BashSession> {
    const session = await BashSession.start({
      cwd: cwd !== undefined && isDirectory(cwd) ? cwd : this.options.workspaceDir,
      workspaceDir: this.options.workspaceDir,
      env: this.options.env,
      noOutputTimeoutMs: this.options.noOutputTimeoutMs,
      maxOutputChars: this.options.maxOutputChars,
      maxCallChars: this.options.maxCallChars,
      commandTimeoutMs: this.options.commandTimeoutMs,
    });
    this.session = session;
    return session;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
