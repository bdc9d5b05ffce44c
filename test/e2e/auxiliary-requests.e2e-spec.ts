import { isBackgroundTask } from '../../src/chat-completions/background-task';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { AUXILIARY_PROMPTS, ORDINARY_PROMPTS } from '../fixtures/auxiliary-prompts';

const HEADER = 'x-openhands-serverconversation-id';
type Message = { role: 'system' | 'user' | 'assistant'; content: string };

/** Clients' background requests never become turns, and no look-alike chat lands in another. */
describe('auxiliary requests and look-alike chats', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({}, { ide: {} }));
  });
  afterAll(() => closeAgentApp({ t, llm }));
  beforeEach(() => llm.reset());

  const send = async (messages: Message[], answer: string) => {
    llm.enqueue(fakeReply.text(answer));
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: { model: 'openhands_ide', messages },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string } }[] };
    return { id: res.headers.get(HEADER), content: body.choices[0].message.content };
  };
  const count = async () => Number(await (await t.request('/api/conversations/count')).text());

  it.each(AUXILIARY_PROMPTS.map((p, i) => [`${p.client}: ${p.what}`, p, i] as const))(
    '%s is one direct LLM call that never touches the conversation',
    async (_name, prompt, i) => {
      const system: Message = { role: 'system', content: 'You are a coding agent.' };
      const first = await send(
        [system, { role: 'user', content: `Fix the failing test ${i}` }],
        'Done.',
      );
      const history: Message[] = [
        system,
        { role: 'user', content: `Fix the failing test ${i}` },
        { role: 'assistant', content: first.content },
      ];
      const before = await count();

      const aux = await send(
        prompt.role === 'system'
          ? [
              { role: 'system', content: prompt.text },
              ...history.slice(1),
              { role: 'user', content: prompt.followedBy ?? 'Go.' },
            ]
          : [...history, { role: 'user', content: prompt.text }],
        'A title',
      );
      expect(aux.id).toBeNull(); // no conversation
      expect(aux.content).toBe('A title');
      expect(llm.requests.at(-1)!.toolNames).toEqual([]); // a plain LLM call, no agent tools
      expect(await count()).toBe(before);

      // the user's real next turn still continues the same conversation
      const next = await send(
        [...history, { role: 'user', content: 'Now run the linter' }],
        'Clean.',
      );
      expect(next.id).toBe(first.id);
    },
  );

  it('sees a prompt behind the <system-reminder> blocks Qwen Code puts before user text', () => {
    const prompt = AUXILIARY_PROMPTS.find((p) => p.role === 'user' && p.client === 'Qwen Code')!;
    const reminded = `<system-reminder>The user works in /home/dev/app.</system-reminder>\n${prompt.text}`;
    expect(isBackgroundTask([{ role: 'user', content: reminded }])).toBe(true);
    expect(isBackgroundTask([{ role: 'user', content: `Fix it. ${prompt.text}` }])).toBe(false);
  });

  it('leaves ordinary requests that look a little like them to the agent', () => {
    for (const text of ORDINARY_PROMPTS) {
      expect(isBackgroundTask([{ role: 'user', content: text }])).toBe(false);
    }
  });

  it('keeps two chats with the same first exchange but different system prompts apart', async () => {
    const hi = { role: 'user' as const, content: 'Hi there' };
    const a = await send([{ role: 'system', content: 'You are reviewer A.' }, hi], 'Hello!');
    const b = await send([{ role: 'system', content: 'You are reviewer B.' }, hi], 'Hello!');
    expect(b.id).not.toBe(a.id);
    const nextA = await send(
      [
        { role: 'system', content: 'You are reviewer A.' },
        hi,
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Review x.ts' },
      ],
      'ok',
    );
    const nextB = await send(
      [
        { role: 'system', content: 'You are reviewer B.' },
        hi,
        { role: 'assistant', content: 'Hello!' },
        { role: 'user', content: 'Review y.ts' },
      ],
      'ok',
    );
    expect(nextA.id).toBe(a.id);
    expect(nextB.id).toBe(b.id);
  });

  it('keeps chats of clients with different tools apart', async () => {
    const tool = (name: string) => ({
      type: 'function',
      function: { name, parameters: { type: 'object' } },
    });
    const hi = { role: 'user' as const, content: 'Hello tools' };
    const post = (tools: object[], messages: Message[]) => {
      llm.enqueue(fakeReply.text('Hi!'));
      return t.request('/v1/chat/completions', {
        method: 'POST',
        json: { model: 'openhands_ide', messages, tools },
      });
    };
    const a = (await post([tool('read')], [hi])).headers.get(HEADER);
    const b = (await post([tool('grep')], [hi])).headers.get(HEADER);
    const again = [
      hi,
      { role: 'assistant' as const, content: 'Hi!' },
      { role: 'user' as const, content: 'more' },
    ];
    expect((await post([tool('read')], again)).headers.get(HEADER)).toBe(a);
    expect((await post([tool('grep')], again)).headers.get(HEADER)).toBe(b);
  });
});
