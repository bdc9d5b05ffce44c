import { Injectable } from '@nestjs/common';

/** Why a running turn was stopped from outside the agent loop. */
export type CancelReason =
  | 'cancelled'
  | 'client_disconnected'
  | 'shutdown'
  | 'deleted'
  /** This process could not renew its lease in time: another may take its turns over. */
  | 'lease_lost';

interface ActiveTurn {
  controller: AbortController;
  done: Promise<unknown>;
}

/** The turns running in this process, so that they can be cancelled from outside (API, disconnect, shutdown). */
@Injectable()
export class ActiveTurns {
  private readonly turns = new Map<string, ActiveTurn>();
  private reserved = 0;
  private closed = false;

  get size(): number {
    return this.turns.size;
  }

  /** Set once shutdown began: no new turn may start in this process. */
  get closing(): boolean {
    return this.closed;
  }

  /** Shutdown: refuse new turns from now on; one that slips in is cancelled as it registers. */
  close(): void {
    this.closed = true;
  }

  /**
   * Claims one of `limit` slots for a turn about to start; `null` when all are taken. The returned
   * function gives the slot back (call it once the turn has ended, or if it never started).
   */
  tryReserve(limit: number): (() => void) | null {
    if (this.reserved >= limit) return null;
    this.reserved++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.reserved--;
      }
    };
  }

  register(conversationId: string, controller: AbortController, done: Promise<unknown>): void {
    this.turns.set(conversationId, { controller, done });
    void done.finally(() => {
      if (this.turns.get(conversationId)?.controller === controller)
        this.turns.delete(conversationId);
    });
    if (this.closed) controller.abort('shutdown' satisfies CancelReason);
  }

  isRunningHere(conversationId: string): boolean {
    return this.turns.has(conversationId);
  }

  /** Aborts the turn and waits until it has recorded its end. False when none runs here. */
  async cancel(conversationId: string, reason: CancelReason): Promise<boolean> {
    const turn = this.turns.get(conversationId);
    if (!turn) return false;
    turn.controller.abort(reason);
    await turn.done.catch(() => undefined);
    return true;
  }

  /** Waits up to `ms` for running turns to end by themselves; returns how many are still running. */
  async drain(ms: number): Promise<number> {
    const all = Promise.allSettled([...this.turns.values()].map((t) => t.done));
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
    return this.turns.size;
  }

  async cancelAll(reason: CancelReason): Promise<void> {
    await Promise.all([...this.turns.keys()].map((id) => this.cancel(id, reason)));
  }
}
