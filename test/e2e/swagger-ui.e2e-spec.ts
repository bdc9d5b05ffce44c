import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createTestApp, TEST_KEY, type TestApp } from '../support/create-test-app';
import { CHROMIUM, CHROMIUM_FLAGS } from '../support/browser';
import { cleanUp } from '../support/clean-up';
import { needs } from '../support/system-tools';

const ARTIFACTS = join(__dirname, '..', 'artifacts');
const CORE_TAGS = ['chat', 'models', 'profiles', 'conversations', 'health'];
const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  version: string;
};

needs.chromium()('Swagger UI in a real browser', () => {
  let t: TestApp;
  let profileDir: string;
  let browser: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    const saved = await t.request('/api/profiles/ui-demo', {
      method: 'POST',
      json: { llm: { model: 'openai/gpt-4o-mini' } },
    });
    expect(saved.status).toBe(201);

    // A fresh profile every run. chromium.launch() refuses a --user-data-dir argument and makes
    // its own temporary one; a persistent context on our own temp dir makes that explicit.
    profileDir = mkdtempSync(join(tmpdir(), 'gw-chromium-'));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 1600 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(10_000);
    page.on('console', (msg) => {
      if (msg.type() === 'error') problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(err.message));
  });

  afterAll(async () => {
    await cleanUp(
      () => browser?.close(),
      () => profileDir && rmSync(profileDir, { recursive: true, force: true }),
      () => t?.close(),
    );
  });

  it('authorizes with a session key and runs GET /v1/models with "Try it out"', async () => {
    await page.goto(`${t.url}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain('agent-gateway');

    const operation = page.locator('#operations-models-ModelsController_list');
    await operation.locator('.opblock-summary').click();
    await operation.getByRole('button', { name: 'Try it out' }).click();
    const execute = operation.getByRole('button', { name: 'Execute' });
    const status = operation.locator('.live-responses-table .response .response-col_status');

    // Not authorized yet: the gateway refuses.
    await execute.click();
    await expect(status.first().innerText()).resolves.toContain('401');

    // Authorize: both schemes are offered; fill in the session-key header one.
    await page.locator('.swagger-ui .auth-wrapper button.authorize').click();
    const modal = page.locator('.dialog-ux .modal-ux');
    await modal.waitFor();
    const sessionKey = modal.locator('.auth-container', { hasText: 'X-Session-API-Key' });
    await expect(modal.locator('.auth-container').count()).resolves.toBe(2);
    await sessionKey.locator('input').fill(TEST_KEY);
    await sessionKey.locator('button.authorize').click();
    await sessionKey.locator('button', { hasText: 'Logout' }).waitFor(); // now authorized
    await modal.locator('button.close-modal').click();

    await operation.getByRole('button', { name: 'Clear' }).click();
    await execute.click();
    await status.first().filter({ hasText: '200' }).waitFor();
    const body = await operation
      .locator('.live-responses-table .response-col_description pre')
      .first()
      .innerText();
    expect(JSON.parse(body)).toEqual({
      object: 'list',
      data: [expect.objectContaining({ id: 'openhands_ui-demo', object: 'model' })],
    });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-ui-models.png'), fullPage: true });

    // Under helmet's Content-Security-Policy the UI ran without a single refused resource.
    expect(problems.filter((p) => !/401 \(Unauthorized\)/.test(p))).toEqual([]);

    // The key lived in the page only: nothing in localStorage, and a reload forgets it.
    expect(await page.evaluate(() => JSON.stringify(window.localStorage))).not.toContain(TEST_KEY);
    await page.reload();
    await page.locator('.swagger-ui .info .title').waitFor();
    await expect(
      page.locator('.swagger-ui .auth-wrapper button.authorize').getAttribute('class'),
    ).resolves.toContain('unlocked');
  });

  it('reads well: version, tag order, plain summaries, <think> visible, realistic examples, names without Dto', async () => {
    await page.goto(`${t.url}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();
    await expect(
      page.locator('.swagger-ui .info .title .version').first().innerText(),
    ).resolves.toContain(pkg.version);

    const tags = await page
      .locator('.swagger-ui h3.opblock-tag')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-tag')));
    expect(tags.filter((tag) => CORE_TAGS.includes(tag ?? ''))).toEqual(CORE_TAGS);
    expect(tags[0]).toBe('chat');

    const summaries = await page
      .locator('.swagger-ui .opblock-summary-description')
      .allInnerTexts();
    expect(summaries.length).toBeGreaterThan(10);
    expect(summaries.filter((text) => /[`*]/.test(text))).toEqual([]);

    // The chat route: the progress header's description shows <think> (not swallowed as HTML),
    // and the example body is a two-message chat with a gateway model.
    const chat = page.locator('#operations-chat-ChatCompletionsController_create');
    await chat.locator('.opblock-summary').click();
    await expect(chat.locator('.parameters').innerText()).resolves.toContain('<think> in content');
    const chatBody = JSON.parse(
      await chat.locator('.opblock-section-request-body .highlight-code').first().innerText(),
    ) as { model: string; messages: { role: string }[] };
    expect(chatBody.model).toBe('openhands_default');
    expect(chatBody.messages.map((m) => m.role)).toEqual(['system', 'user']);
    await expect(
      chat
        .locator('.responses-table .response[data-code="200"] .highlight-code')
        .first()
        .innerText(),
    ).resolves.toContain('"object": "chat.completion"');

    // The profile route: a gpt-4o-mini profile to send, "created" in the answer.
    const save = page.locator('#operations-profiles-ProfilesController_save');
    await save.locator('.opblock-summary').click();
    const profileBody = JSON.parse(
      await save.locator('.opblock-section-request-body .highlight-code').first().innerText(),
    ) as { llm: Record<string, unknown> };
    expect(profileBody.llm).toEqual({
      model: 'openai/gpt-4o-mini',
      api_key: 'sk-your-provider-key',
    });
    const answer = await save
      .locator('.responses-table .response[data-code="201"] .highlight-code')
      .first()
      .innerText();
    expect(answer).toContain("Profile 'default' created.");
    expect(answer).not.toContain('saved');
    // The description renders its markdown: code spans are <code>, no raw backticks.
    await expect(
      save.locator('.opblock-description-wrapper code').first().innerText(),
    ).resolves.toBe('GET /v1/models');

    const schemas = await page
      .locator('.swagger-ui .models .model-container')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-name')));
    expect(schemas).toEqual(expect.arrayContaining(['SaveProfile', 'ChatCompletion', 'Model']));
    expect(schemas.filter((name) => name?.endsWith('Dto'))).toEqual([]);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'swagger-ui.png'), fullPage: true });
    expect(problems.filter((p) => !/401 \(Unauthorized\)/.test(p))).toEqual([]);
  });
});
