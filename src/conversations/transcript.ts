import { createHash, type Hash } from 'node:crypto';
import type { StoredEvent } from './events.types';

export type TranscriptEntry = readonly ['user' | 'assistant', string];

/**
 * Text as a chat UI may echo it back: step renderings (`<think>` blocks, Open WebUI's
 * `<details type="reasoning">`) removed, whitespace collapsed.
 */
export function normalizeText(text: string): string {
  return text
    .replace(/<think>[\s\S]*?<\/think>/g, '')
    .replace(/<details\b[^>]*>[\s\S]*?<\/details>/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Each stored event's entry, normalized once: a turn's end re-reads the whole log. */
const entryOf = new WeakMap<StoredEvent, TranscriptEntry | null>();

/** The conversation as its client saw it: user texts and the answers it received, in order. */
export function transcriptOf(events: readonly StoredEvent[]): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  for (const event of events) {
    let entry = entryOf.get(event);
    if (entry === undefined) {
      entry = toEntry(event);
      entryOf.set(event, entry);
    }
    if (entry) entries.push(entry);
  }
  return entries;
}

function toEntry(event: StoredEvent): TranscriptEntry | null {
  if (event.kind === 'user_message') return ['user', normalizeText(event.payload.text)];
  if (event.kind === 'assistant_message') return ['assistant', normalizeText(event.payload.text)];
  if (event.kind === 'turn_end') {
    const shown = event.payload.content ?? event.payload.answer;
    return shown ? ['assistant', normalizeText(shown)] : null;
  }
  return null;
}

/** What else makes two chats the same chat: the client's system text and its tools' names. */
export interface TranscriptContext {
  system: string | null;
  tools: readonly string[];
}

/**
 * The hash a resent history is matched by. The client's system prompt and tool names are part of
 * it: two chats with the same first exchange but another system prompt (or another client) are
 * different chats, and a background request with its own system prompt matches none.
 */
export function transcriptHash(
  entries: readonly TranscriptEntry[],
  context: TranscriptContext = { system: null, tools: [] },
): string | null {
  if (entries.length === 0) return null;
  const key = [normalizeText(context.system ?? ''), [...context.tools].sort(), entries];
  return createHash('sha256').update(JSON.stringify(key)).digest('hex');
}

/** The hash of a transcript's key up to some event: its JSON so far, fed to SHA-256. */
interface HashState {
  /** The key's start (system text and tool names): a state serves only the same context. */
  prefix: string;
  entries: number;
  hash: Hash;
}

/** The hash state after each log's last hashed event (one per conversation: older ones dropped). */
const hashedUpTo = new WeakMap<StoredEvent, HashState>();

/**
 * `transcriptHash(transcriptOf([...events, ...more]), context)`, without re-reading the whole log
 * at every turn's end: the state after the last event of `events` is kept, so the next call on the
 * same (grown) log hashes only the events that came since. `more`: events not in the log yet.
 */
export function transcriptHashOf(
  events: readonly StoredEvent[],
  more: readonly StoredEvent[],
  context: TranscriptContext,
): string | null {
  const prefix = `[${JSON.stringify(normalizeText(context.system ?? ''))},${JSON.stringify([...context.tools].sort())},[`;
  let from = events.length - 1;
  while (from >= 0 && hashedUpTo.get(events[from])?.prefix !== prefix) from--;
  const found = from >= 0 ? hashedUpTo.get(events[from]) : undefined;
  const state: HashState = found
    ? { prefix, entries: found.entries, hash: found.hash.copy() }
    : { prefix, entries: 0, hash: createHash('sha256').update(prefix) };
  const feed = (event: StoredEvent) => {
    const entry = transcriptOf([event])[0];
    if (!entry) return;
    state.hash.update(`${state.entries > 0 ? ',' : ''}${JSON.stringify(entry)}`);
    state.entries++;
  };
  for (let i = from + 1; i < events.length; i++) feed(events[i]);
  if (events.length > 0 && from < events.length - 1) {
    if (from >= 0) hashedUpTo.delete(events[from]);
    hashedUpTo.set(events[events.length - 1], { ...state, hash: state.hash.copy() });
  }
  for (const event of more) feed(event);
  return state.entries === 0 ? null : state.hash.update(']]').digest('hex');
}
