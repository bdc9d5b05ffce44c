import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateObject, generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { FakeLlmServer, fakeReply } from '../support/fake-llm-server';

/**
 * Real client libraries against the service and the scripted LLM: the AI SDK's OpenAI-compatible
 * provider and LangChain's ChatOpenAI (the official `openai` SDK is driven by the other suites).
 */
describe('compatibility with client libraries', () => {
  let t: TestApp;
  let llm: FakeLlmServer;
  const KEY = 'test-session-key-0123456789';

  beforeAll(async () => {
    llm = await FakeLlmServer.start();
    t = await createTestApp();
    await t.saveProfile('lib', { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-x' });
  });
  afterAll(async () => {
    await t.close();
    await llm.close();
  });
  beforeEach(() => llm.reset());

  const weather = {
    description: 'The weather in a city.',
    inputSchema: jsonSchema<{ city: string }>({
      type: 'object',
      properties: { city: { type: 'string' } },
      required: ['city'],
    }),
  };

  describe('AI SDK (@ai-sdk/openai-compatible)', () => {
    const provider = () =>
      createOpenAICompatible({ name: 'gateway', baseURL: `${t.url}/v1`, apiKey: KEY });

    it("generateText with toolChoice 'required' gets the client tool call", async () => {
      llm.enqueue(fakeReply.toolCall('weather', { city: 'Oslo' }));
      const result = await generateText({
        model: provider()('openhands_lib'),
        prompt: 'Weather in Oslo?',
        tools: { weather: tool(weather) },
        toolChoice: 'required',
        maxRetries: 0,
      });
      expect(result.toolCalls.map((c) => [c.toolName, c.input])).toEqual([
        ['weather', { city: 'Oslo' }],
      ]);
      expect(result.finishReason).toBe('tool-calls');
    });

    it('generateText runs the tool itself and the turn resumes with its result', async () => {
      llm.enqueue(fakeReply.toolCall('weather', { city: 'Oslo' }), fakeReply.text('Oslo: sunny.'));
      const result = await generateText({
        model: provider()('openhands_lib'),
        prompt: 'Weather in Oslo?',
        tools: {
          weather: tool({ ...weather, execute: ({ city }) => Promise.resolve(`${city}: sunny`) }),
        },
        stopWhen: stepCountIs(3),
        maxRetries: 0,
      });
      expect(result.text).toBe('Oslo: sunny.');
      expect(llm.requests[1].toolResults[0].content).toContain('Oslo: sunny');
    });

    it('streamText streams the text and the tool call', async () => {
      llm.enqueue(fakeReply.toolCall('weather', { city: 'Rome' }, { text: 'Checking.' }));
      const result = streamText({
        model: provider()('openhands_lib'),
        prompt: 'Weather in Rome?',
        tools: { weather: tool(weather) },
        toolChoice: 'required',
        maxRetries: 0,
      });
      expect(await result.text).toBe('Checking.');
      expect((await result.toolCalls).map((c) => c.input)).toEqual([{ city: 'Rome' }]);
    });

    it('generateObject gets an object that fits the schema', async () => {
      llm.enqueue(fakeReply.text('{"name":"Ada","languages":["en","fr"]}'));
      const { object } = await generateObject({
        model: provider()('openhands_lib'),
        schema: z.object({ name: z.string(), languages: z.array(z.string()) }),
        prompt: 'Who was Ada Lovelace?',
        maxRetries: 0,
      });
      expect(object).toEqual({ name: 'Ada', languages: ['en', 'fr'] });
    });
  });

  describe('LangChain (ChatOpenAI)', () => {
    const chat = () =>
      new ChatOpenAI({
        model: 'openhands_lib',
        apiKey: KEY,
        configuration: { baseURL: `${t.url}/v1` },
        maxRetries: 0,
      });

    it("bindTools with tool_choice 'required' returns the tool call", async () => {
      llm.enqueue(fakeReply.toolCall('weather', { city: 'Lima' }));
      const message = await chat()
        .bindTools(
          [
            {
              type: 'function',
              function: {
                name: 'weather',
                description: 'The weather in a city.',
                parameters: { type: 'object', properties: { city: { type: 'string' } } },
              },
            },
          ],
          { tool_choice: 'required' },
        )
        .invoke('Weather in Lima?');
      expect(message.tool_calls?.map((c) => [c.name, c.args])).toEqual([
        ['weather', { city: 'Lima' }],
      ]);
    });

    it('withStructuredOutput parses the answer', async () => {
      llm.setHandler((request) =>
        request.toolNames.length === 1 // function calling: the schema arrives as a forced tool
          ? fakeReply.toolCall(request.toolNames[0], { city: 'Lima', celsius: 21 })
          : fakeReply.text('{"city":"Lima","celsius":21}'),
      );
      const result = await chat()
        .withStructuredOutput(z.object({ city: z.string(), celsius: z.number() }), {
          name: 'reading',
        })
        .invoke('Weather in Lima, as data');
      expect(result).toEqual({ city: 'Lima', celsius: 21 });
    });

    it('stream yields the answer', async () => {
      llm.enqueue(fakeReply.text('Hello from the agent.', { chunks: 4 }));
      let text = '';
      for await (const chunk of await chat().stream('Say hello'))
        text += typeof chunk.content === 'string' ? chunk.content : '';
      expect(text).toBe('Hello from the agent.');
    });
  });
});
