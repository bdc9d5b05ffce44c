import type OpenAI from 'openai';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

describe('OH_MAX_CONCURRENT_TURNS', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp({ OH_MAX_CONCURRENT_TURNS: '1' });
    await t.saveProfile('one', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });

  it('answers 429 with Retry-After when the process runs its maximum of turns, and frees the slot after', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    llm.setHandler(async () => {
      await gate;
      return fakeReply.text('first');
    });
    const ask = (content: string) =>
      t.openai.chat.completions.create({
        model: 'openhands_one',
        messages: [{ role: 'user', content }],
      });
    const first = ask('one');
    await llm.waitForRequests(1);

    const refused = await ask('two').catch((e: InstanceType<typeof OpenAI.APIError>) => e);
    expect(refused).toMatchObject({
      status: 429,
      code: 'too_many_turns',
      type: 'rate_limit_error',
    });
    expect((refused as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');
    expect(llm.requests).toHaveLength(1);

    release();
    expect((await first).choices[0].message.content).toBe('first');
    llm.setHandler(() => fakeReply.text('third'));
    expect((await ask('three')).choices[0].message.content).toBe('third');
  });
});
