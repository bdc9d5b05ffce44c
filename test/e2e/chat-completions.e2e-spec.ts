import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const HEADER = 'X-OpenHands-ServerConversation-ID';

describe('chat completions: agent turns end to end', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      { OH_LLM_BACKOFF_MS: '5' },
      {
        oai: {},
        claude: (fake) => ({ model: 'anthropic/claude-sonnet-4-5', base_url: fake.origin }),
      },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => llm.reset());

  const conversation = async (id: string) => (await t.request(`/api/conversations/${id}`)).json();

  it.each([
    ['OpenAI', 'oai'],
    ['Anthropic', 'claude'],
  ])(
    'runs the seed flow over the %s protocol: answer, header, continuation with history, stats, cleanup',
    async (_, profile) => {
      const model = `openhands_${profile}`;
      expect((await t.openai.models.list()).data.map((m) => m.id)).toContain(model);

      llm.enqueue(fakeReply.text('A gateway lets OpenAI clients drive an agent.'));
      const first = await t.openai.chat.completions
        .create({
          model,
          messages: [
            { role: 'system', content: 'Answer directly and do not use tools.' },
            { role: 'user', content: 'In one sentence, what does the gateway do?' },
          ],
        })
        .withResponse();
      const id = first.response.headers.get(HEADER)!;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(first.data.choices[0].message.content).toBe(
        'A gateway lets OpenAI clients drive an agent.',
      );
      expect(first.data.choices[0].finish_reason).toBe('stop');
      expect(first.data.usage!.prompt_tokens).toBeGreaterThan(0);
      expect(llm.requests[0].system).toContain('Answer directly and do not use tools.');
      expect(llm.requests[0].toolNames).toEqual(
        expect.arrayContaining(['terminal', 'file_editor', 'task_tracker', 'think', 'finish']),
      );

      llm.enqueue(fakeReply.text('The gateway.'));
      const second = await t.openai.chat.completions
        .create(
          { model, messages: [{ role: 'user', content: 'What did I ask about?' }] },
          { headers: { [HEADER]: id } },
        )
        .withResponse();
      expect(second.response.headers.get(HEADER)).toBe(id);
      expect(second.data.choices[0].message.content).toBe('The gateway.');
      const seen = JSON.stringify(llm.requests[1].messages);
      expect(seen).toContain('In one sentence, what does the gateway do?');
      expect(seen).toContain('A gateway lets OpenAI clients drive an agent.');
      expect(llm.requests[1].lastUserText).toBe('What did I ask about?');

      const stored = await conversation(id);
      expect(stored).toMatchObject({
        id,
        execution_status: 'finished',
        profile,
        workspace: { working_dir: join(t.env.OH_WORKSPACE_PATH, id) },
      });
      expect(
        stored.stats.usage_to_metrics.agent.accumulated_token_usage.prompt_tokens,
      ).toBeGreaterThan(0);

      expect((await t.request(`/api/conversations/${id}`, { method: 'DELETE' })).status).toBe(200);
      expect((await t.request(`/api/conversations/${id}`)).status).toBe(404);
      expect(existsSync(join(t.env.OH_WORKSPACE_PATH, id))).toBe(false);
    },
  );

  it("runs a shell tool call inside the conversation's own workspace, then answers", async () => {
    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'echo "made by the agent" > made.txt && pwd' }),
      fakeReply.toolCall('finish', { message: 'Created made.txt.' }),
    );
    const res = await t.openai.chat.completions
      .create({ model: 'openhands_oai', messages: [{ role: 'user', content: 'Create made.txt' }] })
      .withResponse();
    const id = res.response.headers.get(HEADER)!;
    const workspace = join(t.env.OH_WORKSPACE_PATH, id);
    expect(res.data.choices[0].message.content).toBe('Created made.txt.');
    expect(readFileSync(join(workspace, 'made.txt'), 'utf8')).toBe('made by the agent\n');
    const result = llm.requests[1].toolResults[0].content;
    // Sandboxed, the agent sees its workspace at /workspace; unsandboxed at its host path.
    const { sandbox } = (await (await t.request('/server_info')).json()) as { sandbox: string };
    expect(result).toContain(`${sandbox === 'bwrap' ? '/workspace' : workspace}\n`);
    expect(result).toContain('[Command finished with exit code 0]');

    const events = await (
      await t.request(`/api/conversations/${id}/events/search?kind=tool_call,tool_result`)
    ).json();
    expect(events.items.map((e: { kind: string }) => e.kind)).toEqual([
      'tool_call',
      'tool_result',
      'tool_call',
      'tool_result',
    ]);
    expect(events.items[0].payload).toMatchObject({
      tool: 'terminal',
      arguments: { command: expect.stringContaining('made.txt') },
    });
  });

  it('seeds a new conversation with the earlier turns a client sends', async () => {
    llm.enqueue(fakeReply.text('Blue, as you said.'));
    await t.openai.chat.completions.create({
      model: 'openhands_oai',
      messages: [
        { role: 'user', content: 'My favourite colour is blue.' },
        { role: 'assistant', content: 'Noted: blue.' },
        { role: 'user', content: 'What is my favourite colour?' },
      ],
    });
    const sent = llm.requests[0].messages.map((m) => [m.role, m.content]);
    expect(sent).toEqual([
      ['user', 'My favourite colour is blue.'],
      ['assistant', 'Noted: blue.'],
      ['user', 'What is my favourite colour?'],
    ]);
  });

  it('fails with 502 upstream_error naming the provider status, without the key, and recovers on the next request', async () => {
    await t.saveProfile('flaky', {
      model: 'openai/gpt-4o-mini',
      base_url: llm.url,
      api_key: 'sk-secret-flaky-123456',
      num_retries: 1,
    });
    llm.enqueue(
      fakeReply.error(500, 'backend exploded for sk-secret-flaky-123456'),
      fakeReply.error(500, 'backend exploded again'),
    );
    const failure = await t.openai.chat.completions
      .create({ model: 'openhands_flaky', messages: [{ role: 'user', content: 'hello' }] })
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(502);
    expect(error.type).toBe('upstream_error');
    expect(error.message).toContain('500');
    expect(error.message).not.toContain('sk-secret-flaky-123456');
    const id = error.headers?.get(HEADER);
    expect(id).toBeTruthy();
    expect((await conversation(id!)).execution_status).toBe('error');

    llm.enqueue(fakeReply.text('Back.'));
    const next = await t.openai.chat.completions.create(
      { model: 'openhands_flaky', messages: [{ role: 'user', content: 'again' }] },
      { headers: { [HEADER]: id! } },
    );
    expect(next.choices[0].message.content).toBe('Back.');
    expect((await conversation(id!)).execution_status).toBe('finished');
  });

  it('prices a priced model: the conversation and the turn report a cost > 0', async () => {
    llm.enqueue(fakeReply.text('ok', { usage: { promptTokens: 12_000, completionTokens: 800 } }));
    const res = await t.openai.chat.completions
      .create({ model: 'openhands_oai', messages: [{ role: 'user', content: 'price me' }] })
      .withResponse();
    const usage = res.data.usage as unknown as { cost_usd: number; prompt_tokens: number };
    expect(usage.prompt_tokens).toBe(12_000);
    expect(usage.cost_usd).toBeGreaterThan(0);
    const stored = await conversation(res.response.headers.get(HEADER)!);
    expect(stored.stats.usage_to_metrics.agent.accumulated_cost).toBeCloseTo(usage.cost_usd, 8);
  });

  it('answers unknown models with 404 model_not_found and bad requests with 400 in the OpenAI shape', async () => {
    const unknown = await t.openai.chat.completions
      .create({ model: 'openhands_nope', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found' });

    const bodies: [unknown, string][] = [
      [
        { model: 'openhands_oai', messages: [{ role: 'system', content: 'only system' }] },
        'user message',
      ],
      [{ model: 'openhands_oai', n: 2, messages: [{ role: 'user', content: 'x' }] }, 'n must be 1'],
      [{ model: 'openhands_oai', messages: [{ role: 'wizard', content: 'x' }] }, 'role'],
      [
        {
          model: 'openhands_oai',
          messages: [{ role: 'user', content: [{ type: 'input_audio' }] }],
        },
        'supported',
      ],
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
    ];
    for (const [body, fragment] of bodies) {
      const res = await t.request('/v1/chat/completions', { method: 'POST', json: body });
      expect(res.status).toBe(400);
      const json = await res.json();
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message).toContain(fragment);
    }
    const malformed = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_oai', messages: [{ role: 'user', content: 'x' }] },
      headers: { [HEADER]: 'not-a-uuid' },
    });
    expect(malformed.status).toBe(400);
    expect(llm.requests).toHaveLength(0);
  });

  it('starts a conversation under a client-chosen UUID, and refuses a second turn while one runs (409)', async () => {
    const id = '2b1c7f4e-9d1a-4c55-8a1e-3f2f6a0b9c11';
    llm.enqueue(fakeReply.text('slow answer', { delayMs: 800 }));
    const first = t.openai.chat.completions.create(
      { model: 'openhands_oai', messages: [{ role: 'user', content: 'take your time' }] },
      { headers: { [HEADER]: id } },
    );
    await llm.waitForRequests(1);
    const busy = await t.openai.chat.completions
      .create(
        { model: 'openhands_oai', messages: [{ role: 'user', content: 'me too' }] },
        { headers: { [HEADER]: id } },
      )
      .catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    expect(busy).toMatchObject({ status: 409, code: 'conversation_busy' });
    expect((await first).choices[0].message.content).toBe('slow answer');
    expect((await conversation(id)).id).toBe(id);
  });
});
