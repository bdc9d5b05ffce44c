import type { StoredEvent } from './events.types';
import { transcriptHash, transcriptHashOf, transcriptOf } from './transcript';

let seq = 0;
const event = (kind: string, payload: Record<string, unknown>): StoredEvent =>
  ({ id: `e${++seq}`, seq, createdAt: '', kind, payload }) as unknown as StoredEvent;
const user = (text: string) => event('user_message', { text });
const answer = (text: string) => event('turn_end', { status: 'finished', answer: text });
const step = () => event('llm_response', { text: 'thinking' });

describe('transcriptHashOf', () => {
  const context = { system: 'You are helpful.', tools: ['b', 'a'] };
  const whole = (events: StoredEvent[], more: StoredEvent[], ctx = context) =>
    transcriptHash(transcriptOf([...events, ...more]), ctx);

  it('hashes a growing log exactly as transcriptHash(transcriptOf(...)) does, turn after turn', () => {
    const log: StoredEvent[] = [];
    for (let turn = 0; turn < 30; turn++) {
      log.push(user(`question ${turn} <think>hidden</think>`), step());
      const end = answer(`answer ${turn}`);
      expect(transcriptHashOf(log, [end], context)).toBe(whole(log, [end]));
      log.push(end);
    }
  });

  it('a context change, a fresh copy of the log, or an empty transcript give the same hash as recomputing', () => {
    const log = [user('hi'), answer('hello'), user('again')];
    expect(transcriptHashOf(log, [], context)).toBe(whole(log, []));
    const other = { system: 'Another system prompt', tools: [] };
    expect(transcriptHashOf(log, [], other)).toBe(whole(log, [], other));
    expect(transcriptHashOf(log, [], other)).not.toBe(transcriptHashOf(log, [], context));
    const copy = log.map((e) => ({ ...e }));
    expect(transcriptHashOf(copy, [answer('x')], context)).toBe(whole(log, [answer('x')]));
    expect(transcriptHashOf([step()], [], context)).toBeNull();
    expect(transcriptHashOf([], [], context)).toBeNull();
  });
});
