import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type OpenAI from 'openai';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const HEADER = 'x-openhands-serverconversation-id';
type Params = OpenAI.Chat.ChatCompletionCreateParamsNonStreaming;

const READ_FILE: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'read_file',
    description: 'Read a file of the user project.',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' } },
      required: ['path'],
    },
  },
};
const WRITE_FILE: OpenAI.Chat.ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'write_file',
    parameters: {
      type: 'object',
      properties: { path: { type: 'string' }, content: { type: 'string' } },
    },
  },
};
const SERVER_TOOLS = ['terminal', 'file_editor', 'task_tracker', 'think', 'finish'];

/** The client-tools bridge: the model calls the client's tools, the turn pauses, the results resume it. */
describe('client tools', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp();
    await t.saveProfile('ide', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
    await t.saveProfile('capped', {
      model: 'openai/gpt-4o-mini',
      base_url: llm.url,
      api_key: 'sk-x',
      max_output_tokens: 16384,
      tool_mode: 'client',
    });
    // No max_output_tokens: the model's known limit (gpt-4.1: 32768) caps the client's ask
    await t.saveProfile('known', { model: 'openai/gpt-4.1', base_url: llm.url, api_key: 'sk-x' });
    await t.saveProfile('unknown', {
      model: 'hosted_vllm/my-org/fine-tune',
      base_url: llm.url,
      api_key: 'sk-x',
    });
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });
  beforeEach(() => llm.reset());

  const ask = (body: Partial<Params>, headers: Record<string, string> = {}) =>
    t.openai.chat.completions
      .create(
        {
          model: 'openhands_ide',
          messages: [{ role: 'user', content: 'What does notes.txt say?' }],
          ...body,
        },
        { headers },
      )
      .withResponse();

  const errorOf = async (promise: Promise<unknown>) => {
    const err = (await promise.then(
      () => null,
      (e: unknown) => e,
    )) as InstanceType<typeof OpenAI.APIError> | null;
    expect(err).not.toBeNull();
    return err!;
  };

  it('pauses the turn on a client tool call and resumes it with the result, without our header', async () => {
    llm.enqueue(fakeReply.toolCall('read_file', { path: 'notes.txt' }, { text: 'Let me look.' }));
    const first = await ask({ tools: [READ_FILE] });
    const choice = first.data.choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBe('Let me look.');
    const call = choice.message.tool_calls![0] as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.type).toBe('function');
    expect(call.function).toEqual({ name: 'read_file', arguments: '{"path":"notes.txt"}' });
    expect(call.id).toMatch(/^call_[0-9a-f]{24}$/); // ours, unique: the provider's stays inside
    expect(llm.requests[0].toolNames.sort()).toEqual([...SERVER_TOOLS, 'read_file'].sort());
    const id = first.response.headers.get(HEADER)!;
    const conversation = await (await t.request(`/api/conversations/${id}`)).json();
    expect(conversation.execution_status).toBe('idle');

    llm.enqueue(fakeReply.text('It says: buy milk.'));
    const second = await ask({
      tools: [READ_FILE],
      messages: [
        { role: 'user', content: 'What does notes.txt say?' },
        { role: 'assistant', content: 'Let me look.', tool_calls: [call] },
        { role: 'tool', tool_call_id: call.id, content: 'buy milk' },
      ],
    });
    expect(second.data.choices[0].finish_reason).toBe('stop');
    expect(second.data.choices[0].message.content).toBe('It says: buy milk.');
    expect(second.response.headers.get(HEADER)).toBe(id); // the same conversation, the same turn's loop
    // the model got its own call back with the client's result under the provider's id
    const resumed = llm.requests[1];
    expect(resumed.toolResults).toEqual([{ id: 'call_1', content: 'buy milk' }]);
    expect(resumed.messages.filter((m) => m.role === 'user')).toHaveLength(1);
    // and it never ran in the server's workspace
    expect(existsSync(join(t.dir, 'workspace', id))).toBe(false);
  });

  it('streams the call as delta.tool_calls with finish_reason tool_calls, and resumes by our header', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'read_file', arguments: { path: 'a' } },
        { name: 'write_file', arguments: { path: 'b', content: 'x' } },
      ]),
    );
    const { data: stream, response } = await t.openai.chat.completions
      .create({
        model: 'openhands_ide',
        stream: true,
        messages: [{ role: 'user', content: 'Copy a to b' }],
        tools: [READ_FILE, WRITE_FILE],
      })
      .withResponse();
    const calls: { id?: string; name?: string; arguments: string }[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[delta.index] ??= { arguments: '' };
        if (delta.id) calls[delta.index].id = delta.id;
        if (delta.function?.name) calls[delta.index].name = delta.function.name;
        calls[delta.index].arguments += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    expect(calls.map((c) => [c.name, JSON.parse(c.arguments)])).toEqual([
      ['read_file', { path: 'a' }],
      ['write_file', { path: 'b', content: 'x' }],
    ]);
    const id = response.headers.get(HEADER)!;

    llm.enqueue(fakeReply.text('Copied.'));
    const done = await ask(
      {
        tools: [READ_FILE, WRITE_FILE],
        messages: [
          { role: 'user', content: 'Copy a to b' },
          {
            role: 'assistant',
            content: null,
            tool_calls: calls.map((c) => ({
              id: c.id!,
              type: 'function' as const,
              function: { name: c.name!, arguments: c.arguments },
            })),
          },
          { role: 'tool', tool_call_id: calls[0].id!, content: 'x' },
          { role: 'tool', tool_call_id: calls[1].id!, content: 'written' },
        ],
      },
      { 'X-OpenHands-ServerConversation-ID': id },
    );
    expect(done.data.choices[0].message.content).toBe('Copied.');
    expect(llm.requests[1].toolResults.map((r) => r.content)).toEqual(['x', 'written']);
  });

  it('runs server tools of the same step itself and pauses only on the client call', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'think', arguments: { thought: 'read it first' } },
        { name: 'read_file', arguments: { path: 'x' } },
      ]),
    );
    const res = await ask({ tools: [READ_FILE] });
    expect(res.data.choices[0].message.tool_calls).toHaveLength(1);
    llm.enqueue(fakeReply.text('ok'));
    const call = res.data.choices[0].message.tool_calls![0];
    await ask(
      {
        tools: [READ_FILE],
        messages: [
          { role: 'user', content: 'What does notes.txt say?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: 'data' },
        ],
      },
      { 'X-OpenHands-ServerConversation-ID': res.response.headers.get(HEADER)! },
    );
    expect(llm.requests[1].toolResults.map((r) => r.content)).toEqual([
      'Your thought has been logged.',
      'data',
    ]);
  });

  it('refuses a client tool named like a server tool, naming it', async () => {
    const err = await errorOf(
      ask({ tools: [{ type: 'function', function: { name: 'terminal', parameters: {} } }] }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe('tool_name_collision');
    expect(err.message).toContain("'terminal'");
    expect(llm.requests).toHaveLength(0);
  });

  it('answers tool results that match no pending call with a 400 naming the ids', async () => {
    const err = await errorOf(
      ask({
        tools: [READ_FILE],
        messages: [
          { role: 'user', content: 'hi' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_nope',
                type: 'function',
                function: { name: 'read_file', arguments: '{}' },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'call_nope', content: 'x' },
        ],
      }),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe('unknown_tool_call_id');
    expect(err.message).toContain("'call_nope'");
    expect(llm.requests).toHaveLength(0);
  });

  it('refuses a final tool message on a conversation that waits for none (no replay)', async () => {
    llm.enqueue(fakeReply.text('Hello.'));
    const first = await ask({});
    const id = first.response.headers.get(HEADER)!;
    const err = await errorOf(
      ask(
        {
          messages: [
            { role: 'user', content: 'What does notes.txt say?' },
            { role: 'assistant', content: 'Hello.' },
            { role: 'tool', tool_call_id: 'call_x', content: 'x' },
          ],
        },
        { 'X-OpenHands-ServerConversation-ID': id },
      ),
    );
    expect(err.status).toBe(400);
    expect(err.code).toBe('not_waiting_for_tool_results');
    expect(llm.requests).toHaveLength(1);
  });

  it('refuses results that leave a pending call unanswered, and a second resume of the same turn', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'read_file', arguments: { path: 'a' } },
        { name: 'read_file', arguments: { path: 'b' } },
      ]),
    );
    const res = await ask({ tools: [READ_FILE] });
    const [a, b] = res.data.choices[0].message.tool_calls!;
    const base = [
      { role: 'user' as const, content: 'What does notes.txt say?' },
      { role: 'assistant' as const, content: null, tool_calls: [a, b] },
      { role: 'tool' as const, tool_call_id: a.id, content: 'A' },
    ];
    const missing = await errorOf(ask({ tools: [READ_FILE], messages: base }));
    expect(missing.code).toBe('missing_tool_results');
    expect(missing.message).toContain(b.id);

    llm.enqueue(fakeReply.text('Both read.'));
    const messages = [...base, { role: 'tool' as const, tool_call_id: b.id, content: 'B' }];
    await ask({ tools: [READ_FILE], messages });
    const again = await errorOf(ask({ tools: [READ_FILE], messages }));
    expect(again.code).toBe('not_waiting_for_tool_results');
    expect(llm.requests).toHaveLength(2);
  });

  it('honours tool_choice: required, a named function, and none', async () => {
    llm.enqueue(fakeReply.toolCall('read_file', { path: 'a' }));
    await ask({ tools: [READ_FILE], tool_choice: 'required' });
    expect(llm.requests[0].body.tool_choice).toBe('required');
    // a turn that must call a tool cannot end on our `finish` instead of the client's tool
    expect(llm.requests[0].toolNames).not.toContain('finish');

    llm.enqueue(fakeReply.toolCall('write_file', { path: 'a' }));
    await ask({
      tools: [READ_FILE, WRITE_FILE],
      tool_choice: { type: 'function', function: { name: 'write_file' } },
    });
    expect(llm.requests[1].body.tool_choice).toEqual({
      type: 'function',
      function: { name: 'write_file' },
    });

    llm.enqueue(fakeReply.text('No tools.'));
    const none = await ask({ tools: [READ_FILE], tool_choice: 'none' });
    expect(none.data.choices[0].finish_reason).toBe('stop');
    expect(llm.requests[2].toolNames).not.toContain('read_file');

    const unknown = await errorOf(
      ask({ tools: [READ_FILE], tool_choice: { type: 'function', function: { name: 'nope' } } }),
    );
    expect(unknown.code).toBe('unknown_tool_choice');
  });

  it('returns one client call per answer with parallel_tool_calls: false', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'read_file', arguments: { path: 'a' } },
        { name: 'read_file', arguments: { path: 'b' } },
      ]),
    );
    const res = await ask({ tools: [READ_FILE], parallel_tool_calls: false });
    const calls = res.data.choices[0].message.tool_calls!;
    expect(calls).toHaveLength(1);
    llm.enqueue(fakeReply.text('Read a.'));
    await ask(
      {
        tools: [READ_FILE],
        messages: [
          { role: 'user', content: 'What does notes.txt say?' },
          { role: 'assistant', content: null, tool_calls: calls },
          { role: 'tool', tool_call_id: calls[0].id, content: 'A' },
        ],
      },
      { 'X-OpenHands-ServerConversation-ID': res.response.headers.get(HEADER)! },
    );
    expect(llm.requests[1].toolResults).toEqual([{ id: 'call_1', content: 'A' }]);
  });

  it('offers the server tools, the client tools or both, by header and by profile', async () => {
    llm.enqueue(fakeReply.text('a'), fakeReply.text('b'), fakeReply.text('c'), fakeReply.text('d'));
    await ask({ tools: [READ_FILE] }, { 'X-OpenHands-Tools': 'client' });
    await ask({ tools: [READ_FILE] }, { 'X-OpenHands-Tools': 'server' });
    await ask({ tools: [READ_FILE], model: 'openhands_capped' });
    await ask({ tools: [READ_FILE], model: 'openhands_capped' }, { 'X-OpenHands-Tools': 'both' });
    expect(llm.requests.map((r) => r.toolNames.sort())).toEqual([
      ['read_file'],
      [...SERVER_TOOLS].sort(),
      ['read_file'],
      [...SERVER_TOOLS, 'read_file'].sort(),
    ]);
    const bad = await errorOf(ask({}, { 'X-OpenHands-Tools': 'all' }));
    expect(bad.status).toBe(400);
    expect(bad.code).toBe('invalid_tools_mode');
  });

  it('with the client tools only, a call to a server tool is an error the model reads', async () => {
    llm.enqueue(fakeReply.toolCall('terminal', { command: 'ls' }), fakeReply.text('Sorry.'));
    await ask({ tools: [READ_FILE] }, { 'X-OpenHands-Tools': 'client' });
    expect(llm.requests[1].toolResults[0].content).toContain(
      "Tool 'terminal' not found. Available: read_file",
    );
  });

  it('clamps max_tokens to the profile max_output_tokens', async () => {
    llm.enqueue(fakeReply.text('short'));
    await ask({ model: 'openhands_capped', max_tokens: 32000 });
    const body = llm.requests[0].body;
    expect(body.max_tokens ?? body.max_completion_tokens).toBe(16384);
  });

  it("clamps max_tokens to the model's known output limit when the profile sets none", async () => {
    const sent = (i: number) =>
      llm.requests[i].body.max_tokens ?? llm.requests[i].body.max_completion_tokens;
    llm.enqueue(fakeReply.text('a'), fakeReply.text('b'), fakeReply.text('c'), fakeReply.text('d'));
    await ask({ model: 'openhands_known', max_tokens: 100_000 });
    await ask({ model: 'openhands_known', max_completion_tokens: 2_000 });
    await ask({ model: 'openhands_unknown', max_tokens: 100_000 });
    await t.openai.responses.create({
      model: 'openhands_known',
      input: 'What does notes.txt say?',
      max_output_tokens: 64_000,
    });
    expect([sent(0), sent(1), sent(2), sent(3)]).toEqual([32_768, 2_000, 100_000, 32_768]);
  });

  it('refuses a trailing assistant prefill and deprecated functions with a clear 400', async () => {
    const prefill = await errorOf(
      ask({
        messages: [
          { role: 'user', content: 'Write JSON' },
          { role: 'assistant', content: '{"' },
        ],
      }),
    );
    expect(prefill.code).toBe('assistant_prefill_unsupported');
    const functions = await errorOf(ask({ functions: [{ name: 'f', parameters: {} }] }));
    expect(functions.code).toBe('functions_unsupported');
    expect(llm.requests).toHaveLength(0);
  });
});
