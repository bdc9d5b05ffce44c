import type OpenAI from 'openai';
import { zodTextFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const MODEL = 'openhands_rtools';

const weather: OpenAI.Responses.FunctionTool = {
  type: 'function',
  name: 'get_weather',
  description: 'The weather in a city.',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string' } },
    required: ['city'],
    additionalProperties: false,
  },
  strict: true,
};

describe('Responses API: function tools through the client-tools bridge', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  let client: OpenAI;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({ OH_LLM_BACKOFF_MS: '5' }, { rtools: { num_retries: 0 } }));
    client = t.openai;
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  const functionCalls = (response: OpenAI.Responses.Response) =>
    response.output.filter(
      (o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === 'function_call',
    );

  it('round-trips a function call: function_call item, then function_call_output resumes the same turn', async () => {
    llm.enqueue(fakeReply.toolCall('get_weather', { city: 'Paris' }));
    const first = await client.responses.create({
      model: MODEL,
      input: 'What is the weather in Paris?',
      tools: [weather],
    });
    expect(first.status).toBe('completed');
    const [call] = functionCalls(first);
    expect(call).toMatchObject({
      type: 'function_call',
      name: 'get_weather',
      arguments: '{"city":"Paris"}',
      status: 'completed',
    });
    expect(call.call_id).toMatch(/^call_/);
    expect(llm.requests[0].toolNames).toEqual(expect.arrayContaining(['get_weather', 'terminal']));

    llm.enqueue(fakeReply.text('It is 22 °C and sunny in Paris.'));
    const second = await client.responses.create({
      model: MODEL,
      previous_response_id: first.id,
      input: [{ type: 'function_call_output', call_id: call.call_id, output: '22 °C, sunny' }],
      tools: [weather],
    });
    expect(second.output_text).toBe('It is 22 °C and sunny in Paris.');
    expect(second.conversation?.id).toBe(first.conversation?.id);
    expect(llm.requests[1].toolResults).toEqual([
      expect.objectContaining({ content: '22 °C, sunny' }),
    ]);
    // one turn: the resumed request carries the same user message, not a new one
    const users = llm.requests[1].messages.filter((m) => m.role === 'user');
    expect(users).toHaveLength(1);
    const items = await client.responses.inputItems.list(second.id);
    expect(items.data).toEqual([
      expect.objectContaining({ type: 'function_call_output', call_id: call.call_id }),
    ]);
  });

  it('streams function_call items with their arguments events', async () => {
    llm.enqueue(fakeReply.toolCall('get_weather', { city: 'Oslo' }));
    const stream = await client.responses.create({
      model: MODEL,
      input: 'Weather in Oslo?',
      tools: [weather],
      tool_choice: 'required',
      stream: true,
    });
    const events: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    const at = types.indexOf('response.function_call_arguments.delta');
    expect(types.slice(at - 1)).toEqual([
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[at + 1]).toMatchObject({ name: 'get_weather', arguments: '{"city":"Oslo"}' });
    expect(llm.requests[0].body.tool_choice).toBe('required');
  });

  it('resumes a stateless client (store: false, the whole history resent) by the call id', async () => {
    llm.enqueue(fakeReply.toolCall('get_weather', { city: 'Rome' }));
    const input: OpenAI.Responses.ResponseInput = [
      { role: 'developer', content: 'You are terse.' },
      { role: 'user', content: 'Weather in Rome?' },
    ];
    const first = await client.responses.create({
      model: MODEL,
      input,
      tools: [weather],
      store: false,
    });
    const [call] = functionCalls(first);
    llm.enqueue(fakeReply.text('Rome: 30 °C.'));
    const second = await client.responses.create({
      model: MODEL,
      input: [
        ...input,
        {
          type: 'function_call',
          call_id: call.call_id,
          name: call.name,
          arguments: call.arguments,
        },
        { type: 'function_call_output', call_id: call.call_id, output: '30 °C' },
      ],
      tools: [weather],
      store: false,
    });
    expect(second.output_text).toBe('Rome: 30 °C.');
    expect(second.conversation?.id).toBe(first.conversation?.id);
    expect(llm.requests[1].toolResults[0].content).toBe('30 °C');
  });

  it('gives a final answer in the text.format JSON schema, repaired once, with responses.parse', async () => {
    const City = z.object({ name: z.string(), population: z.number() });
    llm.enqueue(
      fakeReply.text('Paris, about two million people.'), // misses the format: one repair step
      fakeReply.text('{"name":"Paris","population":2100000}'),
    );
    const parsed = await client.responses.parse({
      model: MODEL,
      input: 'The capital of France, as JSON.',
      text: { format: zodTextFormat(City, 'city') },
    });
    expect(parsed.output_parsed).toEqual({ name: 'Paris', population: 2100000 });
    expect(llm.requests[0].system).toContain('"population"');
    expect(llm.requests).toHaveLength(2);

    llm.enqueue(fakeReply.text('{"name":"Rome","population":2800000}', { chunks: 3 }));
    const stream = await client.responses.create({
      model: MODEL,
      input: 'Italy, as JSON.',
      text: { format: { type: 'json_schema', name: 'city', schema: z.toJSONSchema(City) } },
      stream: true,
    });
    let text = '';
    for await (const event of stream)
      if (event.type === 'response.output_text.delta') text += event.delta;
    expect(JSON.parse(text)).toEqual({ name: 'Rome', population: 2800000 });

    const bad = await t.request('/v1/responses', {
      method: 'POST',
      json: { model: MODEL, input: 'x', text: { format: { type: 'json_schema', name: 'x' } } },
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe('text.format.schema');
  });

  it("offers only the client's tools with X-OpenHands-Tools: client, and refuses bad tool requests", async () => {
    llm.enqueue(fakeReply.text('No tools needed.'));
    await client.responses.create(
      { model: MODEL, input: 'hi', tools: [weather] },
      { headers: { 'X-OpenHands-Tools': 'client' } },
    );
    expect(llm.requests[0].toolNames).toEqual(['get_weather']);

    const post = (json: Record<string, unknown>) =>
      t.request('/v1/responses', { method: 'POST', json: { model: MODEL, ...json } });
    const collision = await post({
      input: 'x',
      tools: [{ type: 'function', name: 'terminal', parameters: { type: 'object' } }],
    });
    expect(collision.status).toBe(400);
    expect((await collision.json()).error.message).toContain('terminal');
    const unknownCall = await post({
      input: [
        { type: 'function_call_output', call_id: 'call_000000000000000000000000', output: 'x' },
      ],
    });
    expect(unknownCall.status).toBe(400);
    expect((await unknownCall.json()).error.code).toBe('unknown_tool_call_id');
    const hosted = await post({ input: 'x', tools: [{ type: 'web_search' }] });
    expect(hosted.status).toBe(400);
    expect((await hosted.json()).error.param).toBe('tools[0].type');
    expect(llm.requests).toHaveLength(1);
  });
});
