import { Injectable } from '@nestjs/common';
import type { StoredEvent } from './events.types';

const MAX_CONVERSATIONS = 256;

/**
 * Recently used event logs, so a turn does not re-read its conversation's whole history: the
 * cached log is used only when its last seq equals the database's, which also keeps replicas honest.
 */
@Injectable()
export class HistoryCache {
  private readonly logs = new Map<string, StoredEvent[]>();

  /** A new conversation's log. The returned array is the cache entry; the journal appends to it. */
  start(conversationId: string, events: StoredEvent[]): StoredEvent[] {
    const log = [...events];
    this.put(conversationId, log);
    return log;
  }

  /**
   * The log up to `lastSeq`: the cached one when current, else loaded (then cached).
   * Events with seq > lastSeq already in the database (the input just written) are included when loaded.
   */
  async continueFrom(
    conversationId: string,
    lastSeq: number,
    load: () => Promise<StoredEvent[]>,
  ): Promise<StoredEvent[]> {
    const cached = this.logs.get(conversationId);
    if (cached && (cached.at(-1)?.seq ?? 0) === lastSeq) {
      this.put(conversationId, cached);
      return cached;
    }
    const log = await load();
    this.put(conversationId, log);
    return log;
  }

  forget(conversationId: string): void {
    this.logs.delete(conversationId);
  }

  private put(conversationId: string, log: StoredEvent[]): void {
    this.logs.delete(conversationId);
    this.logs.set(conversationId, log);
    if (this.logs.size > MAX_CONVERSATIONS)
      this.logs.delete(this.logs.keys().next().value as string);
  }
}
