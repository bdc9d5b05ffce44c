import type { CancelReason } from './active-turns';
import type { AgentEvent, TurnOutcome } from './turns.types';
import type { EventChannel } from './event-channel';

/** A turn in progress: iterate it for its events; `outcome` settles when it has been recorded. */
export class AgentRun implements AsyncIterable<AgentEvent> {
  constructor(
    readonly conversationId: string,
    private readonly events: EventChannel<AgentEvent>,
    readonly outcome: Promise<TurnOutcome>,
    private readonly controller: AbortController,
  ) {}

  /** Stops the turn: the LLM request is aborted and the shell's processes are killed. */
  cancel(reason: CancelReason): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  [Symbol.asyncIterator](): AsyncIterator<AgentEvent> {
    return this.events[Symbol.asyncIterator]();
  }
}
