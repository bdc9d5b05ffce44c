import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';
import { contentOf, SseReader } from '../support/sse';

const HEADER = 'x-openhands-serverconversation-id';
type Message = { role: 'user' | 'assistant' | 'system'; content: string };

/** Chat UIs cannot echo our header: conversations continue by client chat id, metadata or history. */
describe('conversation continuity without the header', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp();
    for (const name of ['ui', 'other']) {
      await t.saveProfile(name, {
        model: 'openai/gpt-4o-mini',
        base_url: llm.url,
        api_key: 'sk-x',
      });
    }
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });
  beforeEach(() => llm.reset());

  /** One streamed turn, as Open WebUI sends it; returns the conversation id and the content shown. */
  async function turn(
    messages: Message[],
    answer: string,
    headers: Record<string, string> = {},
    extra: object = {},
    model = 'openhands_ui',
  ) {
    llm.enqueue(fakeReply.text(answer, { chunks: 3 }));
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      headers,
      json: { model, stream: true, messages, ...extra },
    });
    expect(res.status).toBe(200);
    const sse = new SseReader(res);
    await sse.readAll();
    return { id: res.headers.get(HEADER)!, content: contentOf(sse.data) };
  }
  const historyOf = async (id: string) =>
    (
      await (await t.request(`/api/conversations/${id}/events/search?kind=user_message`)).json()
    ).items.map((e: { payload: { text: string } }) => e.payload.text);

  it('continues the conversation a client chat id header maps to (X-OpenWebUI-Chat-Id)', async () => {
    const chat = { 'X-OpenWebUI-Chat-Id': 'owui-chat-1' };
    const first = await turn([{ role: 'user', content: 'Hello' }], 'Hi there.', chat);
    const second = await turn(
      [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'Again' },
      ],
      'Again to you.',
      chat,
    );
    expect(second.id).toBe(first.id);
    expect(await historyOf(first.id)).toEqual(['Hello', 'Again']);
    expect(llm.requests[1].messages).toHaveLength(3); // the server's history, nothing seeded twice
  });

  it('forks a new conversation seeded from the client history when it diverges (edit or regenerate)', async () => {
    const chat = { 'X-Chat-Id': 'fork-me' };
    const first = await turn([{ role: 'user', content: 'Write a haiku' }], 'Haiku one.', chat);
    const edited = await turn(
      [
        { role: 'user', content: 'Write a limerick' }, // the user edited the first message
      ],
      'Limerick.',
      chat,
    );
    expect(edited.id).not.toBe(first.id);
    const next = await turn(
      [
        { role: 'user', content: 'Write a limerick' },
        { role: 'assistant', content: 'Limerick.' },
        { role: 'user', content: 'Another' },
      ],
      'Another limerick.',
      chat,
    );
    expect(next.id).toBe(edited.id); // the chat id now points at the fork
    expect(await historyOf(first.id)).toEqual(['Write a haiku']);
  });

  it('continues by metadata.conversation_id: our own id, or a client id', async () => {
    const first = await turn([{ role: 'user', content: 'Meta one' }], 'One.');
    const own = await turn(
      [{ role: 'user', content: 'Meta two' }],
      'Two.',
      {},
      { metadata: { conversation_id: first.id } },
    );
    expect(own.id).toBe(first.id);

    const a = await turn(
      [{ role: 'user', content: 'Client A' }],
      'A.',
      {},
      { metadata: { conversation_id: 'librechat-42' } },
    );
    const b = await turn(
      [
        { role: 'user', content: 'Client A' },
        { role: 'assistant', content: 'A.' },
        { role: 'user', content: 'Client B' },
      ],
      'B.',
      {},
      { metadata: { conversation_id: 'librechat-42' } },
    );
    expect(b.id).toBe(a.id);
  });

  it('continues a conversation whose stored transcript equals the history the client resends', async () => {
    const first = await turn(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Name a colour' },
      ],
      'Teal.',
    );
    const second = await turn(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Name a colour' },
        { role: 'assistant', content: 'Teal.' },
        { role: 'user', content: 'Another' },
      ],
      'Coral.',
    );
    expect(second.id).toBe(first.id);
    const third = await turn(
      [
        { role: 'system', content: 'Be brief.' }, // the system prompt is part of the match
        { role: 'user', content: 'Name a colour' },
        { role: 'assistant', content: 'Teal.' },
        { role: 'user', content: 'Another' },
        { role: 'assistant', content: 'Coral.' },
        { role: 'user', content: 'And one more' },
      ],
      'Amber.',
    );
    expect(third.id).toBe(first.id);
    expect(await historyOf(first.id)).toEqual(['Name a colour', 'Another', 'And one more']);
  });

  it('matches history that came with step renderings in content (think mode), and starts anew when it does not match', async () => {
    llm.enqueue(fakeReply.toolCall('think', { thought: 'x' }));
    const first = await turn([{ role: 'user', content: 'Think first' }], 'Thought about it.', {
      'X-OpenHands-Progress': 'think',
    });
    expect(first.content).toContain('<think>');
    const second = await turn(
      [
        { role: 'user', content: 'Think first' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: 'Next' },
      ],
      'Next answer.',
    );
    expect(second.id).toBe(first.id);

    const stranger = await turn(
      [
        { role: 'user', content: 'Think first' },
        { role: 'assistant', content: 'An answer we never gave.' },
        { role: 'user', content: 'Next' },
      ],
      'Fresh.',
    );
    expect(stranger.id).not.toBe(first.id);
    expect(llm.requests.at(-1)!.messages.map((m) => m.content)).toEqual([
      'Think first',
      'An answer we never gave.',
      'Next',
    ]);
  });

  it('never reaches across profiles: the same chat id or history under another profile is another conversation', async () => {
    const chat = { 'X-Conversation-Id': 'shared-chat' };
    const mine = await turn([{ role: 'user', content: 'Profile scoped' }], 'Mine.', chat);
    const theirs = await turn(
      [
        { role: 'user', content: 'Profile scoped' },
        { role: 'assistant', content: 'Mine.' },
        { role: 'user', content: 'Next' },
      ],
      'Theirs.',
      chat,
      {},
      'openhands_other',
    );
    expect(theirs.id).not.toBe(mine.id);
    const byHistory = await turn(
      [
        { role: 'user', content: 'Profile scoped' },
        { role: 'assistant', content: 'Mine.' },
        { role: 'user', content: 'Next' },
      ],
      'Still theirs.',
      {},
      {},
      'openhands_other',
    );
    expect(byHistory.id).not.toBe(mine.id);
    const viaMetadata = await turn(
      [{ role: 'user', content: 'x' }],
      'y',
      {},
      { metadata: { conversation_id: mine.id } },
      'openhands_other',
    );
    expect(viaMetadata.id).not.toBe(mine.id);
  });

  it("answers a chat UI's background request (Open WebUI title) with one direct call: no agent, no conversation", async () => {
    const before = await (await t.request('/api/conversations/count')).json();
    llm.enqueue(fakeReply.text('{ "title": "🎨 Colour Talk" }'));
    const res = await t.request('/v1/chat/completions', {
      method: 'POST',
      json: {
        model: 'openhands_ui',
        messages: [
          {
            role: 'user',
            content:
              '### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Output:\nJSON format: { "title": "your concise title here" }\n### Chat History:\n<chat_history>\nUSER: Name a colour\nASSISTANT: Teal.\n</chat_history>',
          },
        ],
      },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get(HEADER)).toBeNull();
    expect((await res.json()).choices[0].message.content).toBe('{ "title": "🎨 Colour Talk" }');
    expect(llm.requests[0].toolNames).toEqual([]);
    expect(llm.requests[0].system).not.toContain('OpenHands');
    expect(await (await t.request('/api/conversations/count')).json()).toBe(before);
  });

  it("treats LibreChat's title prompt the same way", async () => {
    llm.enqueue(fakeReply.text('Colour Talk'));
    const res = await t.openai.chat.completions.create({
      model: 'openhands_ui',
      messages: [
        {
          role: 'user',
          content:
            'Provide a concise, 5-word-or-less title for the conversation, using title case conventions. Only return the title itself.\n\nConversation:\nUser: hi\nAI: hello',
        },
      ],
    });
    expect(res.choices[0].message.content).toBe('Colour Talk');
    expect(llm.requests[0].toolNames).toEqual([]);
  });
});
