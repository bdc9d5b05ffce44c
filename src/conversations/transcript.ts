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

/** The conversation as its client saw it: user texts and the answers it received, in order. */
export function transcriptOf(events: readonly StoredEvent[]): TranscriptEntry[] {
  const entries: TranscriptEntry[] = [];
  for (const event of events) {
    if (event.kind === 'user_message') entries.push(['user', normalizeText(event.payload.text)]);
    else if (event.kind === 'assistant_message')
      entries.push(['assistant', normalizeText(event.payload.text)]);
    else if (event.kind === 'turn_end') {
      const shown = event.payload.content ?? event.payload.answer;
      if (shown) entries.push(['assistant', normalizeText(shown)]);
    }
  }
  return entries;
}

export function transcriptHash(entries: readonly TranscriptEntry[]): string | null {
  if (entries.length === 0) return null;
  return createHash('sha256').update(JSON.stringify(entries)).digest('hex');
}
