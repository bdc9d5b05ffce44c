import type { NewEvent, StoredEvent } from '../conversations/events.types';
import { detectStuck } from './stuck-detector';

let seq = 0;
const stamp = (events: NewEvent[]): StoredEvent[] =>
  events.map((e) => ({ ...e, id: `e${++seq}`, seq, createdAt: '' }));
const user: NewEvent = { kind: 'user_message', source: 'user', payload: { text: 'go' } };
const step = (id: string, args: object, output: string, isError = false, text = ''): NewEvent[] => [
  {
    kind: 'llm_response',
    source: 'agent',
    payload: { text, finish_reason: 'tool_calls', llm_call_id: id, model: 'm' },
  },
  {
    kind: 'tool_call',
    source: 'agent',
    payload: { tool_call_id: id, tool: 'terminal', arguments: args },
  },
  {
    kind: 'tool_result',
    source: 'environment',
    payload: { tool_call_id: id, tool: 'terminal', output, is_error: isError },
  },
];
const repeat = (n: number, make: (i: number) => NewEvent[]) =>
  Array.from({ length: n }, (_, i) => make(i)).flat();

describe(detectStuck.name, () => {
  it('is fine with varied work', () => {
    expect(
      detectStuck(
        stamp([user, ...repeat(6, (i) => step(`c${i}`, { command: `ls ${i}` }, `out ${i}`))]),
      ),
    ).toEqual({ kind: 'ok' });
  });

  it('calls the same call with the same result four times stuck, ignoring ids and summaries', () => {
    const events = stamp([
      user,
      ...repeat(4, (i) => step(`c${i}`, { command: 'ls', summary: `try ${i}` }, 'same')),
    ]);
    expect(detectStuck(events)).toMatchObject({
      kind: 'stuck',
      reason: expect.stringContaining('four times'),
    });
    expect(detectStuck(events.slice(0, -3))).toEqual({ kind: 'ok' });
  });

  it('nudges once after the same error three times, and is stuck at the fourth', () => {
    const three = stamp([
      user,
      ...repeat(3, (i) => step(`c${i}`, { command: 'bad' }, 'boom', true)),
    ]);
    expect(detectStuck(three)).toMatchObject({
      kind: 'nudge',
      message: expect.stringContaining('three times'),
    });
    const nudged = [
      ...three,
      ...stamp([
        {
          kind: 'nudge',
          source: 'system',
          payload: { text: (detectStuck(three) as { message: string }).message },
        },
      ]),
    ];
    expect(detectStuck(nudged)).toEqual({ kind: 'ok' });
    const four = [...nudged, ...stamp(step('c4', { command: 'bad' }, 'boom', true))];
    expect(detectStuck(four)).toMatchObject({ kind: 'stuck' });
  });

  it('sees an A,B,A,B,A,B loop', () => {
    const events = stamp([
      user,
      ...repeat(6, (i) => step(`c${i}`, { command: i % 2 ? 'a' : 'b' }, i % 2 ? 'A' : 'B')),
    ]);
    expect(detectStuck(events)).toMatchObject({
      kind: 'stuck',
      reason: expect.stringContaining('alternated'),
    });
  });

  it('counts three empty replies in a row', () => {
    const empty: NewEvent = {
      kind: 'llm_response',
      source: 'agent',
      payload: { text: '', finish_reason: 'stop', llm_call_id: 'x', model: 'm' },
    };
    expect(detectStuck(stamp([user, empty, empty]))).toEqual({ kind: 'ok' });
    expect(detectStuck(stamp([user, empty, empty, empty]))).toMatchObject({ kind: 'stuck' });
  });

  it('only looks at events since the last user message', () => {
    const before = repeat(3, (i) => step(`c${i}`, { command: 'ls' }, 'same'));
    const events = stamp([user, ...before, user, ...step('d', { command: 'ls' }, 'same')]);
    expect(detectStuck(events)).toEqual({ kind: 'ok' });
  });
});
