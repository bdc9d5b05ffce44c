import { createHash } from 'node:crypto';
import type { StoredEvent } from './conversation-events';

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

export function transcriptHash(entries: readonly TranscriptEntry[]): string | null {
  if (entries.length === 0) return null;
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}
