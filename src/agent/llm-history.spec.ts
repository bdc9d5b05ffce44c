import type { NewEvent, StoredEvent } from '../conversations/events.types';
import { toModelMessages } from './llm-history';

const log = (...events: NewEvent[]): StoredEvent[] =>
  events.map((e, i) => ({ ...e, id: `e${i + 1}`, seq: i + 1, createdAt: '2026-01-01T00:00:00Z' }));

const user = (text: string, extra: object = {}): NewEvent => ({
  kind: 'user_message',
  source: 'user',
  payload: { text, ...extra },
});
const response = (text: string): NewEvent => ({
  kind: 'llm_response',
  source: 'agent',
  payload: { text, finish_reason: 'tool_calls', llm_call_id: 'c', model: 'm' },
});
const call = (id: string, tool: string, args: unknown): NewEvent => ({
  kind: 'tool_call',
  source: 'agent',
  payload: { tool_call_id: id, tool, arguments: args },
});
const result = (id: string, tool: string, output: string, isError = false): NewEvent => ({
  kind: 'tool_result',
  source: 'environment',
  payload: { tool_call_id: id, tool, output, is_error: isError },
});

describe(toModelMessages.name, () => {
  it('rebuilds user, assistant tool calls and their results in order', () => {
    const messages = toModelMessages(
      log(
        user('list files'),
        response('Looking.'),
        call('a', 'terminal', { command: 'ls' }),
        call('b', 'think', { thought: 'x' }),
        result('a', 'terminal', 'x.txt'),
        result('b', 'think', 'logged'),
      ),
    );
    expect(messages).toEqual([
      { role: 'user', content: 'list files' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Looking.' },
          { type: 'tool-call', toolCallId: 'a', toolName: 'terminal', input: { command: 'ls' } },
          { type: 'tool-call', toolCallId: 'b', toolName: 'think', input: { thought: 'x' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'a',
            toolName: 'terminal',
            output: { type: 'text', value: 'x.txt' },
          },
          {
            type: 'tool-result',
            toolCallId: 'b',
            toolName: 'think',
            output: { type: 'text', value: 'logged' },
          },
        ],
      },
    ]);
  });

  it('gives a call interrupted before its result a placeholder result, so providers accept the history', () => {
    const messages = toModelMessages(
      log(
        user('run it'),
        response(''),
        call('a', 'terminal', { command: 'sleep 60' }),
        { kind: 'interrupted', source: 'system', payload: { message: 'gone' } },
        user('again'),
      ),
    );
    expect(messages[2]).toEqual({
      role: 'tool',
      content: [
        expect.objectContaining({
          toolCallId: 'a',
          output: { type: 'error-text', value: expect.stringContaining('interrupted') },
        }),
      ],
    });
    expect(messages[3]).toEqual({
      role: 'assistant',
      content: '[the server stopped during this request, before an answer]',
    });
    expect(messages[4]).toEqual({ role: 'user', content: 'again' });
  });

  const end = (reason: string, extra: object = {}): NewEvent =>
    ({
      kind: 'turn_end',
      source: 'agent',
      payload: { reason, status: 'error', answer: '', usage: {}, ...extra },
    }) as NewEvent;

  it.each([
    [
      end('cancelled', { cancelled_by: 'cancelled' }),
      '[the client cancelled this request before an answer]',
    ],
    [
      end('cancelled', { cancelled_by: 'client_disconnected' }),
      '[the client disconnected before an answer to this request]',
    ],
    [end('timeout'), '[this request ran past the time limit and was stopped before an answer]'],
    [
      end('error', { error: { code: 'x', message: 'The LLM provider failed.' } }),
      '[this request failed before an answer: The LLM provider failed.]',
    ],
    [null, '[this request ended without an answer]'],
  ])(
    'keeps a turn that ended without an answer apart from the next prompt, with a note of how it ended',
    (ending, note) => {
      const messages = toModelMessages(
        log(user('first'), ...(ending ? [ending] : []), user('second')),
      );
      expect(messages).toEqual([
        { role: 'user', content: 'first' },
        { role: 'assistant', content: note },
        { role: 'user', content: 'second' },
      ]);
    },
  );

  it('adds no note after a turn that answered, nor between seeded messages', () => {
    const messages = toModelMessages(
      log(
        user('a', { seeded: true }),
        user('b', { seeded: true }),
        user('q'),
        response('answer'),
        end('stop', { answer: 'answer', status: 'finished' }),
        user('next'),
      ),
    );
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
  });

  it('replaces the events a condensation covers with its summary', () => {
    const messages = toModelMessages(
      log(
        user('goal'),
        response('step one'),
        call('a', 'terminal', { command: 'ls' }),
        result('a', 'terminal', 'out'),
        response('done'),
        {
          kind: 'condensation',
          source: 'system',
          payload: { summary: 'ran ls', from_seq: 2, to_seq: 4, llm_call_id: 'c' },
        },
      ),
    );
    expect(messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'goal' },
          { type: 'text', text: expect.stringContaining('ran ls') },
        ],
      },
      { role: 'assistant', content: [{ type: 'text', text: 'done' }] },
    ]);
  });

  it('keeps seeded turns, turns arguments that are not objects into objects, and sends images', () => {
    const messages = toModelMessages(
      log(
        user('earlier', { seeded: true }),
        { kind: 'assistant_message', source: 'agent', payload: { text: 'reply', seeded: true } },
        user('look', { images: ['data:image/png;base64,AAAA', 'https://example.com/a.png'] }),
        response(''),
        call('a', 'terminal', '{not json'),
        result('a', 'terminal', 'Error validating', true),
      ),
    );
    expect(messages[0]).toEqual({ role: 'user', content: 'earlier' });
    expect(messages[1]).toEqual({ role: 'assistant', content: 'reply' });
    expect(messages[2]).toEqual({
      role: 'user',
      content: [
        { type: 'text', text: 'look' },
        { type: 'image', image: 'AAAA', mediaType: 'image/png' },
        { type: 'image', image: new URL('https://example.com/a.png') },
      ],
    });
    expect(messages[3]).toMatchObject({
      content: [{ type: 'tool-call', input: { invalid_arguments: '{not json' } }],
    });
    expect(messages[4]).toMatchObject({
      content: [{ output: { type: 'error-text', value: 'Error validating' } }],
    });
  });
});
