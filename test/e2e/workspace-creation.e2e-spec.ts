import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestApp } from '../support/create-test-app';
import { closeAgentApp, startAgentApp } from '../support/agent-app';
import { type FakeLlmServer, fakeReply } from '../support/fake-llm-server';

const HEADER = 'x-openhands-serverconversation-id';

/** A conversation's workspace is made when a tool first needs it, not at every turn's start. */
describe('workspace creation', () => {
  let t: TestApp;
  let llm: FakeLlmServer;

  beforeAll(async () => {
    ({ t, llm } = await startAgentApp({}, { w: {} }));
  });
  afterAll(() => closeAgentApp({ t, llm }));

  const turn = async (conversationId?: string) => {
    const { response } = await t.openai.chat.completions
      .create(
        { model: 'openhands_w', messages: [{ role: 'user', content: 'Hi' }] },
        conversationId ? { headers: { [HEADER]: conversationId } } : {},
      )
      .withResponse();
    return response.headers.get(HEADER)!;
  };

  it('leaves it alone for answers without tools, and makes it for the first tool call', async () => {
    llm.enqueue(fakeReply.text('Hello.'));
    const id = await turn();
    const dir = join(t.env.OH_WORKSPACE_PATH, id);
    expect(existsSync(dir)).toBe(false);

    llm.enqueue(
      fakeReply.toolCall('terminal', { command: 'echo made > note.txt && pwd' }),
      fakeReply.text('Noted.'),
    );
    await turn(id);
    const { sandbox } = (await (await t.request('/server_info')).json()) as { sandbox: string };
    // Inside bubblewrap the agent sees its workspace at /workspace, whatever the host path.
    expect(llm.requests.at(-1)!.toolResults[0].content).toContain(
      sandbox === 'bwrap' ? '/workspace' : dir,
    );
    expect(existsSync(join(dir, 'note.txt'))).toBe(true);
  });
});
