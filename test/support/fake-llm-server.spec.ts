import { createAnthropic } from '@ai-sdk/anthropic';
import { jsonSchema, streamText, tool } from 'ai';
import OpenAI from 'openai';
import { FakeLlmServer, fakeReply, splitText } from './fake-llm-server';

/** Parses an SSE body into its `event:` names and `data:` payloads. */
function parseSse(body: string): { event: string | null; data: string }[] {
  return body
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      const lines = block.split('\n');
      const event = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? null;
      const data = lines
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n');
      return { event, data };
    });
}

describe(FakeLlmServer.name, () => {
  let llm: FakeLlmServer;
  let openai: OpenAI;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    openai = new OpenAI({ apiKey: 'sk-test-key', baseURL: llm.url, maxRetries: 0 });
  });
  afterEach(() => llm.reset());
  afterAll(() => llm.close());

  describe('OpenAI Chat Completions', () => {
    it('answers a scripted text and records what the client sent', async () => {
      llm.enqueue(
        fakeReply.text('Hello there.', { usage: { promptTokens: 12, completionTokens: 3 } }),
      );
      const completion = await openai.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
      });
      expect(completion.choices[0].message.content).toBe('Hello there.');
      expect(completion.choices[0].finish_reason).toBe('stop');
      expect(completion.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 3 });
      expect(completion.model).toBe('gpt-4o-mini');
      const request = llm.lastRequest!;
      expect(request).toMatchObject({
        protocol: 'openai',
        path: '/v1/chat/completions',
        stream: false,
        model: 'gpt-4o-mini',
        system: 'Be brief.',
        lastUserText: 'Hi',
      });
      expect(request.headers.authorization).toBe('Bearer sk-test-key');
      expect(request.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    });

    it('streams text in the scripted chunks, then usage when asked, then [DONE]', async () => {
      llm.enqueue(fakeReply.text('one two three', { chunks: 3, usage: { promptTokens: 5 } }));
      const stream = await openai.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const pieces: string[] = [];
      let usage: OpenAI.CompletionUsage | null | undefined;
      let finish: string | null = null;
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta.content) pieces.push(choice.delta.content);
        if (choice?.finish_reason) finish = choice.finish_reason;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(pieces).toEqual(splitText('one two three', 3));
      expect(pieces.length).toBe(3);
      expect(finish).toBe('stop');
      expect(usage?.prompt_tokens).toBe(5);
      expect(llm.lastRequest).toMatchObject({ stream: true, includeUsage: true });
    });

    it('omits the usage chunk when the client did not ask for it', async () => {
      llm.enqueue(fakeReply.text('x'));
      const res = await fetch(`${llm.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [], stream: true }),
      });
      const events = parseSse(await res.text());
      expect(events.at(-1)?.data).toBe('[DONE]');
      expect(events.some((e) => e.data.includes('"usage"'))).toBe(false);
    });

    it('sends tool calls with object and raw (invalid JSON) arguments, streamed or not', async () => {
      const calls = [
        { name: 'terminal', arguments: { command: 'ls -la' } },
        { name: 'file_editor', arguments: '{"command": "view", bad' },
      ];
      llm.enqueue(fakeReply.toolCalls(calls), fakeReply.toolCalls(calls));
      const plain = await openai.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'go' }],
      });
      expect(plain.choices[0].finish_reason).toBe('tool_calls');
      expect(
        plain.choices[0].message.tool_calls?.map((c) =>
          c.type === 'function' ? [c.function.name, c.function.arguments] : null,
        ),
      ).toEqual([
        ['terminal', '{"command":"ls -la"}'],
        ['file_editor', '{"command": "view", bad'],
      ]);

      const stream = await openai.chat.completions.create({
        model: 'm',
        messages: [{ role: 'user', content: 'go' }],
        stream: true,
      });
      const args: Record<number, { name: string; arguments: string; id?: string }> = {};
      let argumentChunks = 0;
      for await (const chunk of stream) {
        for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
          args[call.index] ??= { name: '', arguments: '' };
          if (call.id) args[call.index].id = call.id;
          if (call.function?.name) args[call.index].name = call.function.name;
          if (call.function?.arguments) {
            args[call.index].arguments += call.function.arguments;
            argumentChunks += 1;
          }
        }
      }
      expect(Object.values(args).map((a) => [a.name, a.arguments])).toEqual([
        ['terminal', '{"command":"ls -la"}'],
        ['file_editor', '{"command": "view", bad'],
      ]);
      expect(args[0].id).toMatch(/^call_/);
      expect(argumentChunks).toBeGreaterThan(2);
    });

    it('streams reasoning as reasoning_content deltas before the text', async () => {
      llm.enqueue({ reasoning: ['Let me ', 'think.'], text: 'Answer.' });
      const res = await fetch(`${llm.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [], stream: true }),
      });
      const deltas = parseSse(await res.text())
        .filter((e) => e.data !== '[DONE]')
        .map((e) => (JSON.parse(e.data) as OpenAI.ChatCompletionChunk).choices[0]?.delta ?? {});
      const reasoning = deltas.map((d) => (d as { reasoning_content?: string }).reasoning_content);
      expect(reasoning.filter(Boolean)).toEqual(['Let me ', 'think.']);
      expect(deltas.map((d) => d.content).filter(Boolean)).toEqual(['Answer.']);
    });

    it('answers an HTTP error with its status, headers and an OpenAI error body', async () => {
      llm.enqueue(fakeReply.rateLimited(7));
      const error = await openai.chat.completions
        .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      const apiError = error as InstanceType<typeof OpenAI.APIError>;
      expect(apiError.status).toBe(429);
      expect(apiError.headers?.get('retry-after')).toBe('7');
      expect(apiError.code).toBe('rate_limit_exceeded');
      expect(apiError.message).toContain('Rate limit reached');
    });

    it('sends a verbatim error body when given one', async () => {
      llm.enqueue(fakeReply.error(503, undefined, { body: 'upstream connect error' }));
      const res = await fetch(`${llm.url}/chat/completions`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(503);
      expect(await res.text()).toBe('upstream connect error');
    });

    it('waits before the response headers when told to', async () => {
      llm.enqueue(fakeReply.text('late', { delayMs: 150 }));
      const started = Date.now();
      await openai.chat.completions.create({ model: 'm', messages: [] });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    });

    it('hangs until the client aborts, and notes that the client went away', async () => {
      llm.enqueue(fakeReply.hang());
      const controller = new AbortController();
      const pending = openai.chat.completions.create(
        { model: 'm', messages: [] },
        { signal: controller.signal },
      );
      await llm.waitForRequests(1);
      controller.abort();
      await expect(pending).rejects.toThrow(/abort/i);
      await new Promise((r) => setTimeout(r, 30));
      expect(llm.lastRequest?.clientClosedEarly).toBe(true);
    });

    it('breaks a stream off after some chunks by destroying the socket', async () => {
      llm.enqueue(fakeReply.text('abcdef', { chunks: 6, failAfterChunks: 2 }));
      const stream = await openai.chat.completions.create({
        model: 'm',
        messages: [],
        stream: true,
      });
      const pieces: string[] = [];
      await expect(
        (async () => {
          for await (const chunk of stream) {
            if (chunk.choices[0]?.delta.content) pieces.push(chunk.choices[0].delta.content);
          }
        })(),
      ).rejects.toThrow();
      expect(pieces).toEqual(['a', 'b']);
      expect(llm.lastRequest?.clientClosedEarly).toBe(false); // the fake's doing, not the client's
    });

    it('pauses silently mid-stream', async () => {
      llm.enqueue(fakeReply.text('ab', { chunks: 2, pauseAfterChunks: 1, pauseMs: 200 }));
      const stream = await openai.chat.completions.create({
        model: 'm',
        messages: [],
        stream: true,
      });
      const times: number[] = [];
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) times.push(Date.now());
      }
      expect(times).toHaveLength(2);
      expect(times[1] - times[0]).toBeGreaterThanOrEqual(180);
    });

    it('drops the connection without a response', async () => {
      llm.enqueue(fakeReply.drop());
      await expect(openai.chat.completions.create({ model: 'm', messages: [] })).rejects.toThrow(
        /connection/i,
      );
    });

    it('digests tool results and declared tools', async () => {
      llm.enqueue(fakeReply.text('ok'));
      await openai.chat.completions.create({
        model: 'm',
        messages: [
          { role: 'developer', content: 'Dev note.' },
          { role: 'user', content: [{ type: 'text', text: 'List files' }] },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_9', type: 'function', function: { name: 'terminal', arguments: '{}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_9', content: 'README.md' },
        ],
        tools: [{ type: 'function', function: { name: 'terminal', parameters: {} } }],
      });
      expect(llm.lastRequest).toMatchObject({
        system: 'Dev note.',
        lastUserText: 'List files',
        toolResults: [{ id: 'call_9', content: 'README.md' }],
        toolNames: ['terminal'],
      });
    });
  });

  describe('script', () => {
    it('uses the handler once the queue is empty, and says so when there is none', async () => {
      llm.setHandler((request) =>
        fakeReply.text(request.toolResults.length ? 'final' : `echo ${request.lastUserText}`),
      );
      llm.enqueue(fakeReply.text('queued'));
      const ask = async () =>
        (
          await openai.chat.completions.create({
            model: 'm',
            messages: [{ role: 'user', content: 'x' }],
          })
        ).choices[0].message.content;
      expect(await ask()).toBe('queued');
      expect(await ask()).toBe('echo x');
      expect(llm.pending).toBe(0);

      llm.setHandler(null);
      await expect(ask()).rejects.toMatchObject({
        status: 400,
        message: expect.stringMatching(/no reply scripted/),
      });
    });

    it('takes the handler as a start option and serves paths without /v1', async () => {
      const other = await FakeLlmServer.start({ handler: () => fakeReply.text('from handler') });
      try {
        const client = new OpenAI({ apiKey: 'k', baseURL: other.origin, maxRetries: 0 });
        const completion = await client.chat.completions.create({ model: 'm', messages: [] });
        expect(completion.choices[0].message.content).toBe('from handler');
        expect(other.lastRequest?.path).toBe('/chat/completions');
      } finally {
        await other.close();
      }
    });

    it('resets the queue, the handler and the recorded requests', async () => {
      llm.enqueue(fakeReply.text('a'), fakeReply.text('b'));
      await openai.chat.completions.create({ model: 'm', messages: [] });
      expect(llm.requests).toHaveLength(1);
      llm.reset();
      expect(llm.pending).toBe(0);
      expect(llm.requests).toHaveLength(0);
    });

    it('answers unknown routes with 404', async () => {
      const res = await fetch(`${llm.url}/embeddings`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(404);
    });
  });

  describe('Anthropic Messages', () => {
    const post = (body: Record<string, unknown>) =>
      fetch(`${llm.origin}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'claude-x', max_tokens: 100, ...body }),
      });

    it('answers with content blocks and usage with the cache split out', async () => {
      llm.enqueue({
        reasoning: 'Hmm.',
        text: 'Hi!',
        toolCalls: [{ name: 'think', arguments: { thought: 'x' }, id: 'toolu_a' }],
        usage: {
          promptTokens: 100,
          completionTokens: 9,
          cacheReadTokens: 60,
          cacheWriteTokens: 10,
        },
      });
      const res = await post({ system: 'Sys.', messages: [{ role: 'user', content: 'Hello' }] });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        type: 'message',
        role: 'assistant',
        model: 'claude-x',
        stop_reason: 'tool_use',
        content: [
          { type: 'thinking', thinking: 'Hmm.' },
          { type: 'text', text: 'Hi!' },
          { type: 'tool_use', id: 'toolu_a', name: 'think', input: { thought: 'x' } },
        ],
        usage: {
          input_tokens: 30,
          output_tokens: 9,
          cache_read_input_tokens: 60,
          cache_creation_input_tokens: 10,
        },
      });
      expect(llm.lastRequest).toMatchObject({
        protocol: 'anthropic',
        system: 'Sys.',
        lastUserText: 'Hello',
        stream: false,
      });
      expect(llm.lastRequest?.headers['x-api-key']).toBe('sk-ant-test');
    });

    it('streams the real event sequence, tool input as input_json_delta', async () => {
      llm.enqueue({
        reasoning: ['a', 'b'],
        text: ['Hel', 'lo'],
        toolCalls: [{ name: 'terminal', arguments: { command: 'pwd' } }],
        usage: { completionTokens: 7 },
      });
      const res = await post({ stream: true, messages: [{ role: 'user', content: 'x' }] });
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const events = parseSse(await res.text());
      expect(events.map((e) => e.event)).toEqual([
        'message_start',
        'ping',
        'content_block_start', // thinking
        'content_block_delta',
        'content_block_delta',
        'content_block_delta', // signature
        'content_block_stop',
        'content_block_start', // text
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'content_block_start', // tool_use
        'content_block_delta',
        'content_block_delta',
        'content_block_stop',
        'message_delta',
        'message_stop',
      ]);
      const payloads = events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
      expect(payloads.every((p, i) => p.type === events[i].event)).toBe(true);
      const json = payloads
        .map((p) => (p.delta as { partial_json?: string } | undefined)?.partial_json)
        .filter((s) => s !== undefined)
        .join('');
      expect(JSON.parse(json)).toEqual({ command: 'pwd' });
      expect(payloads.at(-2)).toMatchObject({
        delta: { stop_reason: 'tool_use' },
        usage: { output_tokens: 7 },
      });
    });

    it('renders errors in the Anthropic envelope', async () => {
      llm.enqueue(fakeReply.error(529, 'Overloaded'));
      const res = await post({ messages: [] });
      expect(res.status).toBe(529);
      expect(await res.json()).toEqual({
        type: 'error',
        error: { type: 'overloaded_error', message: 'Overloaded' },
      });
    });

    it('serves the AI SDK anthropic provider, tool results included', async () => {
      llm.enqueue(fakeReply.text('Done.', { chunks: 2 }));
      const model = createAnthropic({ apiKey: 'sk-ant-test', baseURL: llm.url })('claude-x');
      const result = streamText({
        model,
        maxOutputTokens: 100,
        system: 'You are terse.',
        tools: { terminal: tool({ inputSchema: jsonSchema({ type: 'object', properties: {} }) }) },
        messages: [
          { role: 'user', content: 'List' },
          {
            role: 'assistant',
            content: [
              { type: 'tool-call', toolCallId: 'toolu_1', toolName: 'terminal', input: {} },
            ],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'toolu_1',
                toolName: 'terminal',
                output: { type: 'text', value: 'a.txt' },
              },
            ],
          },
        ],
      });
      const deltas: string[] = [];
      for await (const delta of result.textStream) deltas.push(delta);
      expect(deltas).toEqual(splitText('Done.', 2));
      expect(llm.lastRequest).toMatchObject({
        protocol: 'anthropic',
        system: 'You are terse.',
        lastUserText: 'List',
        toolResults: [{ id: 'toolu_1', content: 'a.txt' }],
        toolNames: ['terminal'],
      });
    });
  });
});
