import type OpenAI from 'openai';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const PERSON = {
  type: 'json_schema' as const,
  json_schema: {
    name: 'person',
    strict: true,
    schema: {
      type: 'object',
      properties: { name: { type: 'string' }, age: { type: 'integer' } },
      required: ['name', 'age'],
      additionalProperties: false,
    },
  },
};

/** response_format: the final answer is JSON that fits, checked, repaired once, else a clear error. */
describe('structured output', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({}, { json: {} }));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => llm.reset());

  const ask = (body: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming>) =>
    t.openai.chat.completions.create({
      model: 'openhands_json',
      messages: [{ role: 'user', content: 'Who wrote Dune? Give name and age at publication.' }],
      ...body,
    });

  it('answers with JSON fitting the schema, and tells the agent the schema', async () => {
    llm.enqueue(fakeReply.text('{"name":"Frank Herbert","age":45}'));
    const res = await ask({ response_format: PERSON });
    expect(JSON.parse(res.choices[0].message.content!)).toEqual({ name: 'Frank Herbert', age: 45 });
    expect(llm.requests[0].system).toContain('"required":["name","age"]');
  });

  it('asks the model once to repair an answer that misses the schema', async () => {
    llm.enqueue(
      fakeReply.text('Sure! Frank Herbert was 45.'),
      fakeReply.text('{"name":"Frank Herbert","age":45}'),
    );
    const res = await ask({ response_format: PERSON });
    expect(JSON.parse(res.choices[0].message.content!)).toEqual({ name: 'Frank Herbert', age: 45 });
    const repair = llm.requests[1];
    expect(repair.lastUserText).toContain('not valid JSON');
    expect(repair.body.response_format).toBeDefined(); // the repair step asks the provider for JSON
    expect(repair.body.tool_choice).toBe('none');
  });

  it('repairs a finish message that does not fit, then fails clearly when the repair misses too', async () => {
    llm.enqueue(
      fakeReply.toolCall('finish', { message: '{"name":"Frank Herbert"}' }),
      fakeReply.text('{"name":"Frank Herbert","age":"forty-five"}'),
    );
    const err = (await ask({ response_format: PERSON }).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.APIError
    >;
    expect(err.status).toBe(502);
    expect(err.code).toBe('invalid_structured_output');
    expect(err.message).toContain('age');
    expect(llm.requests).toHaveLength(2);
    expect(llm.requests[1].lastUserText).toContain("does not fit the schema 'person'");
  });

  it('takes any JSON object for json_object, without its code fence', async () => {
    llm.enqueue(fakeReply.text('```json\n{"ok": true}\n```'));
    const res = await ask({ response_format: { type: 'json_object' } });
    expect(res.choices[0].message.content).toBe('{"ok": true}');
  });

  it('streams only the checked JSON as content, never the answer that missed', async () => {
    llm.enqueue(
      fakeReply.text('Here you go: name Frank', { chunks: 3 }),
      fakeReply.text('{"name":"Frank Herbert","age":45}', { chunks: 3 }),
    );
    const stream = await t.openai.chat.completions.create({
      model: 'openhands_json',
      stream: true,
      messages: [{ role: 'user', content: 'Who wrote Dune?' }],
      response_format: PERSON,
    });
    let content = '';
    for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? '';
    expect(JSON.parse(content)).toEqual({ name: 'Frank Herbert', age: 45 });
  });
});
