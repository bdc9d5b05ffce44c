import { type OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs';
import { BashSession, type ShellLauncher } from './bash-session';
import type { TerminalRequest, TerminalResult, WorkspaceRuntime } from './workspace-runtime';

export interface LocalRuntimeOptions {
  /** The environment shells start with, secrets already removed (`agentConfig().shellEnv`). */
  shellEnv: Readonly<Record<string, string>>;
  /** A call returns when its command printed nothing for this long (default 30 s). */
  noOutputTimeoutMs?: number;
  /** Output longer than this keeps head and tail (default 30,000 characters). */
  maxOutputChars?: number;
  /** A call returns early after this much output (default 4 MiB of characters). */
  maxCallChars?: number;
  /** How bash is launched: plain local bash (default) or in a sandbox (`bwrapLauncher`). */
  launcher?: ShellLauncher;
}

/** Shells as local processes: one persistent bash per conversation, started on first use. */
export class LocalWorkspaceRuntime implements WorkspaceRuntime, OnApplicationShutdown {
  private readonly sessions = new Map<string, BashSession>();
  /** Calls of one conversation run one after another. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly options: LocalRuntimeOptions) {}

  exec(
    conversationId: string,
    workspaceDir: string,
    request: TerminalRequest,
  ): Promise<TerminalResult> {
    return this.serialize(conversationId, () => this.run(conversationId, workspaceDir, request));
  }

  async dispose(conversationId: string): Promise<void> {
    const session = this.sessions.get(conversationId);
    this.sessions.delete(conversationId);
    await session?.kill();
  }

  async disposeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.dispose(id)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.disposeAll();
  }

  /** The shell's pid (= its process group), or null when none runs; for tests and diagnostics. */
  findShellPid(conversationId: string): number | null {
    const session = this.sessions.get(conversationId);
    return session?.alive ? session.pid : null;
  }

  private async run(
    conversationId: string,
    workspaceDir: string,
    request: TerminalRequest,
  ): Promise<TerminalResult> {
    const notes: string[] = [];
    let session = this.sessions.get(conversationId);
    if (request.reset) {
      const cwd = session?.cwd;
      await session?.kill();
      session = await this.start(conversationId, workspaceDir, cwd);
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
      await session?.kill(); // what the old shell left running in the background
      session = await this.start(conversationId, workspaceDir, session?.cwd);
      if (ending) {
        const why = ending.killed
          ? 'was stopped (its turn was cancelled or the terminal was disposed)'
          : `exited with code ${ending.exitCode}`;
        notes.push(
          `The previous shell ${why}, so a new shell started in ${session.cwd}; ` +
            'variables and background processes of the old one are gone.',
        );
      }
    }
    const result = await session.execute(request);
    return { ...result, notes: [...notes, ...result.notes] };
  }

  private async start(
    conversationId: string,
    workspaceDir: string,
    cwd?: string,
  ): Promise<BashSession> {
    const session = await BashSession.start({
      cwd: cwd !== undefined && isDirectory(cwd) ? cwd : workspaceDir,
      workspaceDir,
      env: this.options.shellEnv,
      launcher: this.options.launcher,
      noOutputTimeoutMs: this.options.noOutputTimeoutMs,
      maxOutputChars: this.options.maxOutputChars,
      maxCallChars: this.options.maxCallChars,
    });
    this.sessions.set(conversationId, session);
    return session;
  }

  private serialize<T>(conversationId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(conversationId) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(conversationId, settled);
    void settled.then(() => {
      if (this.queues.get(conversationId) === settled) this.queues.delete(conversationId);
    });
    return next;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
