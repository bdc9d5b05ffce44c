import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeLlmServer, fakeReply } from '../../test/support/fake-llm-server';
import { createLanguageModel } from './language-model.factory';
import { LlmClient } from './llm-client.service';
import type { ResolvedModel } from './llm.types';

describe('image URLs in messages', () => {
  let llm: FakeLlmServer;
  let images: Server;
  let fetched = 0;
  let imageUrl: string;

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    images = createServer((_req, res) => {
      fetched++;
      res
        .writeHead(200, { 'content-type': 'image/png' })
        .end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    });
    await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve));
    imageUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}/internal.png`;
  });
  afterAll(async () => {
    await llm.close();
    await new Promise((resolve) => images.close(resolve));
  });

  it.each(['anthropic/claude-sonnet-4-5', 'openai/gpt-4o-mini'])(
    'go to the provider as URLs and are never fetched by the service (%s)',
    async (modelName) => {
      const config = {
        model: modelName,
        base_url: modelName.startsWith('anthropic') ? llm.origin : llm.url,
      };
      const model: ResolvedModel = {
        gatewayModel: 'openhands_t',
        profileName: 't',
        model: modelName,
        config,
        languageModel: createLanguageModel(config, 'sk-test'),
        timeoutMs: 5_000,
        maxRetries: 0,
        contextWindow: null,
        secrets: [],
      };
      llm.enqueue(fakeReply.text('I see a PNG.'));
      const result = await new LlmClient().complete({
        model,
        system: '',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'what is this?' },
              { type: 'image', image: new URL(imageUrl) },
            ],
          },
        ],
        signal: new AbortController().signal,
      });
      expect(result.text).toBe('I see a PNG.');
      expect(fetched).toBe(0);
      expect(JSON.stringify(llm.lastRequest!.messages)).toContain(imageUrl);
    },
  );
});
