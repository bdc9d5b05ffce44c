import type OpenAI from 'openai';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const HEADER = 'X-OpenHands-ServerConversation-ID';
type Event = { kind: string; payload: { summary?: string; reason?: string } };

describe('agent turns: end conditions, tool errors, condensation', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp(
      {
        OH_LLM_BACKOFF_MS: '5',
        OH_MAX_ITERATIONS: '5',
        OH_TURN_TIMEOUT_S: '1.5',
      },
      { agent: { num_retries: 0 }, small: { max_input_tokens: 2000, num_retries: 0 } },
    ));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => {
    llm.reset();
    llm.setHandler(null);
  });

  const ask = (content: string, model = 'openhands_agent', id?: string) =>
    t.openai.chat.completions
      .create(
        { model, messages: [{ role: 'user', content }] },
        id ? { headers: { [HEADER]: id } } : {},
      )
      .withResponse();
  const events = async (id: string): Promise<Event[]> =>
    (await (await t.request(`/api/conversations/${id}/events/search?limit=100`)).json()).items;
  const status = async (id: string) =>
    (await (await t.request(`/api/conversations/${id}`)).json()).execution_status;

  it('returns the tool errors to the LLM so it can correct itself: unknown tool, invalid arguments, sloppy names', async () => {
    llm.enqueue(
      fakeReply.toolCalls([
        { name: 'browser', arguments: { url: 'x' } },
        { name: 'file_editor', arguments: '{"command": "view"' },
        { name: 'execute_bash', arguments: { command: 'echo normalised' } },
      ]),
      fakeReply.text('Recovered.'),
    );
    const { data } = await ask('try tools');
    expect(data.choices[0].message.content).toBe('Recovered.');
    const results = llm.requests[1].toolResults.map((r) => r.content);
    expect(results[0]).toMatch(/^Tool 'browser' not found\. Available: .*terminal/);
    expect(results[1]).toMatch(/^Error validating tool 'file_editor'/);
    expect(results[2]).toContain('normalised');
  });

  it('ends at OH_MAX_ITERATIONS with finish_reason length', async () => {
    llm.setHandler((req) => fakeReply.toolCall('think', { thought: `step ${req.index}` }));
    const { data, response } = await ask('loop forever');
    expect(data.choices[0].finish_reason).toBe('length');
    expect(data.choices[0].message.content).toContain('iteration limit');
    expect(llm.requests).toHaveLength(5);
    const id = response.headers.get(HEADER)!;
    expect(await status(id)).toBe('finished');
    expect((await events(id)).at(-1)).toMatchObject({
      kind: 'turn_end',
      payload: { reason: 'length' },
    });
  });

  it('stops a turn that repeats the same failing call as stuck, after one nudge, and says why', async () => {
    llm.setHandler(() =>
      fakeReply.toolCall('file_editor', { command: 'view', path: 'relative.txt' }),
    );
    const { data, response } = await ask('repeat');
    expect(data.choices[0].finish_reason).toBe('stop');
    expect(data.choices[0].message.content).toContain('going in circles');
    const id = response.headers.get(HEADER)!;
    expect(await status(id)).toBe('stuck');
    expect(llm.requests).toHaveLength(4);
    expect(JSON.stringify(llm.requests[3].messages)).toContain(
      'three times and got the same error',
    );
  });

  it('answers 504 when the turn runs past OH_TURN_TIMEOUT_S, cancelling the run', async () => {
    llm.enqueue(fakeReply.toolCall('terminal', { command: 'sleep 30' }));
    const failure = await ask('sleep long').catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    expect(failure).toMatchObject({ status: 504 });
    const id = (failure as InstanceType<typeof OpenAI.APIError>).headers!.get(HEADER)!;
    expect(await status(id)).toBe('error');
    const log = await events(id);
    expect(log.at(-1)).toMatchObject({ kind: 'turn_end', payload: { reason: 'timeout' } });
    expect(log.map((e) => e.kind)).toContain('error');
  });

  it('condenses the history when the provider says the context is too long, and keeps going', async () => {
    const first = await (async () => {
      llm.enqueue(fakeReply.text('First answer, noted.'));
      return ask('Remember the number 42.');
    })();
    const id = first.response.headers.get(HEADER)!;
    llm.enqueue(
      fakeReply.contextTooLong(),
      fakeReply.text('USER GOAL: remember 42. DONE: noted it.'),
      fakeReply.text('It was 42.'),
    );
    const { data } = await ask('What number?', 'openhands_agent', id);
    expect(data.choices[0].message.content).toBe('It was 42.');
    const summaryRequest = llm.requests[2];
    expect(summaryRequest.toolNames).toEqual([]);
    expect(summaryRequest.system).toContain('condense');
    const log = await events(id);
    const condensation = log.find((e) => e.kind === 'condensation')!;
    expect(condensation.payload.summary).toContain('remember 42');
    const stats = (await (await t.request(`/api/conversations/${id}`)).json()).stats
      .usage_to_metrics;
    expect(Object.keys(stats).sort()).toEqual(['agent', 'condenser']);
  });

  it("condenses before calling when the history nears the profile's max_input_tokens", async () => {
    llm.enqueue(fakeReply.text('ok'));
    const id = (await ask('start', 'openhands_small')).response.headers.get(HEADER)!;
    llm.enqueue(fakeReply.text('ok A'));
    await ask(`Note A: ${'lorem ipsum '.repeat(300)}`, 'openhands_small', id);
    expect((await events(id)).some((e) => e.kind === 'condensation')).toBe(false);

    llm.enqueue(fakeReply.text('Summary: note A was lorem ipsum.'), fakeReply.text('done'));
    const { data } = await ask(`Note B: ${'dolor sit '.repeat(300)}`, 'openhands_small', id);
    expect(data.choices[0].message.content).toBe('done');
    expect((await events(id)).some((e) => e.kind === 'condensation')).toBe(true);
    const last = JSON.stringify(llm.requests.at(-1)!.messages);
    expect(last).toContain('Summary: note A was lorem ipsum.');
    expect(last).toContain('Note B');
    expect(last).not.toContain('lorem ipsum lorem ipsum');
  });

  it('keeps the task list with the conversation', async () => {
    llm.enqueue(
      fakeReply.toolCall('task_tracker', {
        command: 'plan',
        task_list: [
          { title: 'Write tests', status: 'in_progress' },
          { title: 'Ship', status: 'todo' },
        ],
      }),
      fakeReply.text('Planned.'),
    );
    const { response } = await ask('plan it');
    const id = response.headers.get(HEADER)!;
    llm.enqueue(fakeReply.toolCall('task_tracker', { command: 'view' }), fakeReply.text('Viewed.'));
    await ask('show the plan', 'openhands_agent', id);
    expect(llm.requests.at(-1)!.toolResults[0].content).toMatch(/Write tests[\s\S]*Ship/);
  });
});
