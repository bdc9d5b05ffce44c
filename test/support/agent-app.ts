import { createTestApp, type TestApp } from './create-test-app';
import { FakeLlmServer } from './fake-llm-server';

/** The usual pair of an e2e file: the whole app and the scripted LLM its profiles point at. */
export interface AgentApp {
  t: TestApp;
  llm: FakeLlmServer;
}

/** A profile's LLM settings beyond the defaults (or a function of the fake LLM, e.g. its origin). */
export type ProfileSettings =
  Record<string, unknown> | ((llm: FakeLlmServer) => Record<string, unknown>);

/**
 * Starts a fake LLM and the app (`env` as for createTestApp), and stores each profile with model
 * `openai/gpt-4o-mini` on that LLM plus its own settings. Default: one profile, `agent`.
 */
export async function startAgentApp(
  env: Record<string, string> = {},
  profiles: Record<string, ProfileSettings> = { agent: {} },
): Promise<AgentApp> {
  const llm = await FakeLlmServer.start();
  let t: TestApp | undefined;
  try {
    t = await createTestApp(env);
    for (const [name, settings] of Object.entries(profiles)) {
      await t.saveProfile(name, {
        model: 'openai/gpt-4o-mini',
        base_url: llm.url,
        api_key: 'sk-test',
        ...(typeof settings === 'function' ? settings(llm) : settings),
      });
    }
    return { t, llm };
  } catch (err) {
    await closeAgentApp({ t, llm });
    throw err;
  }
}

/** Closes what startAgentApp started (either may be missing when it failed half-way). */
export async function closeAgentApp(app: Partial<AgentApp>): Promise<void> {
  await app.t?.close();
  await app.llm?.close();
}
