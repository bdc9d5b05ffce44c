import { Logger, type OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type {
  EditorParams,
  EditorResult,
  SandboxSettings,
  TerminalParams,
} from '../../sandbox/protocol';
import { ChildProcessTransport, SandboxClient, type SandboxTransport } from './sandbox-client';
import type { LaunchPlan, SandboxLauncher } from './sandbox-launcher';
import type { SandboxProgramKind } from './sandbox-program';
import type {
  SandboxMode,
  TerminalRequest,
  TerminalResult,
  WorkspaceRuntime,
} from './workspace-runtime';

export interface SandboxRuntimeOptions {
  mode: SandboxMode;
  /** The sandbox program the launcher starts (for `/server_info`). */
  program: SandboxProgramKind;
  launcher: SandboxLauncher;
  /** Settings handed to every sandbox at `hello` (the workspace path is added). */
  settings?: Omit<SandboxSettings, 'workspace'>;
  /** Live sandboxes at most; past it the least recently used idle one is ended. */
  maxLive?: number;
  /** A sandbox unused this long is ended (its workspace stays); 0: never. */
  idleMs?: number;
  /** Heartbeat period (default 10 s). */
  heartbeatMs?: number;
  /** When sandboxes run as another user: their workspaces are handed to it. */
  owner?: { uid: number; gid: number } | null;
  /** A transport other than a local child process (tests, a remote sandbox). */
  connect?: (launch: LaunchPlan) => SandboxTransport;
}

/** Too many sandboxes are busy at once (`OH_MAX_LIVE_SANDBOXES`). */
export class SandboxCapacityError extends Error {
  override readonly name = 'SandboxCapacityError';
}

interface Live {
  client: Promise<SandboxClient>;
  release(): void;
  busy: number;
  lastUsed: number;
}

/**
 * One sandbox program per conversation (`src/sandbox/`), started on its first tool call and
 * spoken to over the sandbox protocol. The service itself only makes the empty workspace
 * directory (the sandbox's mount point) and removes it once a sandbox has emptied it; everything
 * inside a workspace is done by the sandbox program.
 */
export class SandboxRuntime implements WorkspaceRuntime, OnApplicationShutdown {
  private readonly logger = new Logger('Sandbox');
  private readonly live = new Map<string, Live>();
  private readonly reaper: NodeJS.Timeout | undefined;

  constructor(private readonly options: SandboxRuntimeOptions) {
    const idleMs = options.idleMs ?? 0;
    if (idleMs > 0) {
      this.reaper = setInterval(
        () => void this.reapIdle(),
        Math.max(50, Math.min(idleMs / 2, 30_000)),
      );
      this.reaper.unref();
    }
  }

  get mode(): SandboxMode {
    return this.options.mode;
  }

  get program(): SandboxProgramKind {
    return this.options.program;
  }

  /** How many sandboxes run now. */
  get liveCount(): number {
    return this.live.size;
  }

  exec(
    conversationId: string,
    workspaceDir: string,
    request: TerminalRequest,
  ): Promise<TerminalResult> {
    const params: TerminalParams = {
      command: request.command,
      isInput: request.isInput,
      timeoutMs: request.timeoutMs,
      reset: request.reset,
    };
    return this.use(conversationId, workspaceDir, (client) =>
      client.request<TerminalResult>('terminal', params, request.signal),
    );
  }

  editor(
    conversationId: string,
    workspaceDir: string,
    args: EditorParams,
    signal: AbortSignal,
  ): Promise<EditorResult> {
    return this.use(conversationId, workspaceDir, (client) =>
      client.request<EditorResult>('editor', args, signal),
    );
  }

  async dispose(conversationId: string): Promise<void> {
    const entry = this.live.get(conversationId);
    if (!entry) return;
    this.live.delete(conversationId);
    const client = await entry.client.catch(() => null);
    await client?.close();
    entry.release();
  }

  async deleteWorkspace(conversationId: string, workspaceDir: string): Promise<void> {
    await this.dispose(conversationId);
    try {
      if (!(await fs.lstat(workspaceDir)).isDirectory()) return;
    } catch {
      return; // never made: no tool ran
    }
    await this.use(conversationId, workspaceDir, (client) => client.request('workspace.clear'));
    await this.dispose(conversationId);
    await fs.rmdir(workspaceDir);
  }

  async disposeAll(): Promise<void> {
    clearInterval(this.reaper);
    await Promise.all([...this.live.keys()].map((id) => this.dispose(id)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.disposeAll();
  }

  private async use<T>(
    conversationId: string,
    workspaceDir: string,
    task: (client: SandboxClient) => Promise<T>,
  ): Promise<T> {
    let entry = this.live.get(conversationId);
    if (entry) {
      const client = await entry.client.catch(() => null);
      if (!client?.alive) {
        if (this.live.get(conversationId) === entry) this.live.delete(conversationId);
        await client?.close();
        entry = undefined;
      }
    }
    if (!entry) {
      await this.makeRoom();
      const started = this.start(workspaceDir);
      entry = { client: started.client, release: started.release, busy: 0, lastUsed: Date.now() };
      this.live.set(conversationId, entry);
      const current = entry;
      entry.client.catch(() => {
        current.release();
        if (this.live.get(conversationId) === current) this.live.delete(conversationId);
      });
    }
    entry.busy++;
    try {
      return await task(await entry.client);
    } finally {
      entry.busy--;
      entry.lastUsed = Date.now();
    }
  }

  private start(workspaceDir: string): { client: Promise<SandboxClient>; release(): void } {
    let release = () => undefined as void;
    const client = (async () => {
      await this.makeWorkspace(workspaceDir);
      const launch = this.options.launcher(workspaceDir);
      release = launch.release;
      const transport = this.options.connect?.(launch) ?? new ChildProcessTransport(launch);
      return SandboxClient.start(
        transport,
        { ...this.options.settings, workspace: launch.workspace },
        { heartbeatMs: this.options.heartbeatMs },
      );
    })();
    return { client, release: () => release() };
  }

  /**
   * The workspace directory itself (never anything inside it): made owner-only, and handed to the
   * sandbox user when sandboxes run as one (the directories above the root must then let others
   * through, as `/app` or `/srv` do).
   */
  private async makeWorkspace(workspaceDir: string): Promise<void> {
    const root = path.dirname(workspaceDir);
    await fs.mkdir(root, { recursive: true, mode: 0o700 });
    try {
      await fs.mkdir(workspaceDir, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = this.options.owner;
    if (owner) {
      // bwrap, run as the sandbox user, must reach the workspace: the root stays the service's,
      // traversable (not listable) by the sandbox group alone.
      await fs.chown(root, process.getuid?.() ?? 0, owner.gid);
      await fs.chmod(root, 0o710);
      await fs.lchown(workspaceDir, owner.uid, owner.gid);
    }
  }

  private async makeRoom(): Promise<void> {
    const max = this.options.maxLive ?? Infinity;
    while (this.live.size >= max) {
      const idle = [...this.live.entries()]
        .filter(([, e]) => e.busy === 0)
        .sort((a, b) => a[1].lastUsed - b[1].lastUsed)[0];
      if (!idle) {
        throw new SandboxCapacityError(
          `${this.live.size} sandboxes are busy, the most this service runs at once ` +
            '(OH_MAX_LIVE_SANDBOXES); try again when another conversation is done.',
        );
      }
      await this.dispose(idle[0]);
    }
  }

  private async reapIdle(): Promise<void> {
    const idleMs = this.options.idleMs ?? 0;
    const now = Date.now();
    for (const [id, entry] of [...this.live.entries()]) {
      if (entry.busy === 0 && now - entry.lastUsed >= idleMs) {
        this.logger.debug(`Ending the idle sandbox of conversation ${id}`);
        await this.dispose(id);
      }
    }
  }
}
