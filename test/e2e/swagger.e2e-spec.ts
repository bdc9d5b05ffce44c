import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { registeredRoutes } from '../support/routes';

interface Operation {
  tags?: string[];
  description?: string;
  parameters?: { description?: string }[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  summary?: string;
}
interface SchemaObject {
  type?: string;
  example?: unknown;
  properties?: Record<string, { description?: string; $ref?: string; allOf?: unknown[] }>;
  required?: string[];
}
interface OpenApiDocument {
  info: { version: string; description: string };
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaObject>; securitySchemes: Record<string, unknown> };
}

/** Routes served by Swagger itself rather than by a controller. */
const DOCS = /^\/(docs|openapi\.(json|yaml))(\/|$)/;
const PUBLIC = ['/alive', '/health', '/ready', '/server_info'];
const CORE_TAGS = ['chat', 'models', 'profiles', 'conversations', 'health'];

describe('OpenAPI document and Swagger UI', () => {
  let t: TestApp;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    t = await createTestApp();
    const res = await t.request('/openapi.json', { key: null });
    expect(res.status).toBe(200);
    doc = (await res.json()) as OpenApiDocument;
  });
  afterAll(() => t.close());

  it('serves Swagger UI at /docs without a key', async () => {
    const res = await t.request('/docs', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<div id="swagger-ui">');
    expect(html).toContain('<title>agent-gateway API</title>');
    for (const asset of ['swagger-ui-bundle.js', 'swagger-ui-init.js', 'swagger-ui.css']) {
      const src = new RegExp(`(?:src|href)="([^"]*${asset.replace('.', '\\.')})"`).exec(html)?.[1];
      expect({ asset, found: !!src }).toEqual({ asset, found: true });
      const served = await t.request(new URL(src!, `${t.url}/docs`).pathname, { key: null });
      expect({ asset, status: served.status }).toEqual({ asset, status: 200 });
    }
  });

  it('serves the same document as YAML', async () => {
    const res = await t.request('/openapi.yaml', { key: null });
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^openapi: 3\./m);
  });

  it('documents every controller route, and only those', () => {
    const served = registeredRoutes(t.app)
      .filter((r) => !DOCS.test(r.path))
      .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(documented).toEqual(served);
  });

  it('gives every operation a summary and a success response with a schema', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const success = Object.entries(op.responses).filter(([status]) => /^2\d\d$/.test(status));
        expect({ where, successes: success.length }).toEqual({ where, successes: 1 });
        const schema = success[0][1].content?.['application/json']?.schema;
        expect({ where, schema: !!schema }).toEqual({ where, schema: true });
        expect({ where, summary: !!op.summary }).toEqual({ where, summary: true });
      }
    }
  });

  it('declares both security schemes, on every route but the public ones', () => {
    expect(doc.components.securitySchemes).toEqual({
      'session-key': { type: 'apiKey', in: 'header', name: 'X-Session-API-Key' },
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const schemes = (op.security ?? []).flatMap((s) => Object.keys(s)).sort();
        expect({ where, schemes }).toEqual({
          where,
          schemes: PUBLIC.includes(path) ? [] : ['bearer', 'session-key'],
        });
      }
    }
  });

  it('describes the profile body from its DTOs, descriptions and limits included', () => {
    const save = doc.paths['/api/profiles/{name}'].post;
    expect(save.requestBody?.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/SaveProfile',
    );
    const body = doc.components.schemas.SaveProfile;
    expect(body.required).toEqual(['llm']);
    expect(body.properties?.include_secrets?.description).toMatch(/stores the profile without it/);
    expect(JSON.stringify(body.properties?.llm)).toContain('#/components/schemas/LlmConfig');

    const llm = doc.components.schemas.LlmConfig;
    expect(llm.required).toEqual(['model']);
    expect(Object.keys(llm.properties ?? {})).toEqual(
      expect.arrayContaining([
        'model',
        'api_key',
        'base_url',
        'api_version',
        'temperature',
        'top_p',
        'max_output_tokens',
        'timeout',
        'num_retries',
        'reasoning_effort',
        'extra_headers',
        'input_cost_per_token',
        'output_cost_per_token',
      ]),
    );
    expect(llm.properties?.model).toMatchObject({
      description: expect.stringContaining('LiteLLM'),
      minLength: 1,
      maxLength: 200,
    });
    expect(llm.properties?.api_key?.description).toMatch(/encrypted/);
    expect(llm.properties?.temperature).toMatchObject({ minimum: 0, maximum: 2 });
  });

  it('describes the responses from their DTOs', () => {
    const schemaOf = (path: string, method: string, status: string) =>
      JSON.stringify(doc.paths[path][method].responses[status].content?.['application/json']);
    expect(schemaOf('/v1/models', 'get', '200')).toContain('schemas/ModelList"');
    expect(schemaOf('/v1/models/{id}', 'get', '200')).toContain('schemas/Model"');
    expect(schemaOf('/api/profiles', 'get', '200')).toContain('schemas/ProfileList"');
    expect(schemaOf('/api/profiles/{name}', 'get', '200')).toContain('schemas/ProfileDetail"');
    expect(schemaOf('/ready', 'get', '200')).toContain('schemas/Readiness"');
    expect(Object.keys(doc.components.schemas.Model.properties ?? {}).sort()).toEqual([
      'created',
      'id',
      'object',
      'owned_by',
    ]);
  });

  it('carries the package version and lists the tags chat first, health last', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8'));
    expect(doc.info.version).toBe(pkg.version);
    const tags = doc.tags.map((t) => t.name);
    const core = tags.filter((t) => CORE_TAGS.includes(t));
    expect(core).toEqual(CORE_TAGS);
    expect(tags.indexOf('chat')).toBe(0);
    // every tag an operation uses is declared, so Swagger UI follows the declared order
    const used = new Set(
      Object.values(doc.paths).flatMap((ops) => Object.values(ops).flatMap((o) => o.tags ?? [])),
    );
    expect([...used].filter((t) => !tags.includes(t))).toEqual([]);
    // and the paths read in that order too
    const firstTags = Object.values(doc.paths).map((ops) => Object.values(ops)[0].tags?.[0] ?? '');
    const ranks = firstTags.map((t) => tags.indexOf(t));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
  });

  it('names schemas without the Dto suffix of the classes', () => {
    const names = Object.keys(doc.components.schemas);
    expect(names.filter((n) => /Dto$/.test(n))).toEqual([]);
    expect(JSON.stringify(doc)).not.toMatch(/#\/components\/schemas\/\w+Dto"/);
    expect(names).toEqual(
      expect.arrayContaining(['SaveProfile', 'ChatCompletion', 'CreateChatCompletion']),
    );
  });

  it('gives plain-text one-line summaries; markdown and the rest go to the description', () => {
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        expect({ where, summary: op.summary }).toEqual({
          where,
          summary: expect.not.stringMatching(/[`*\n]|\.$/),
        });
      }
    }
    const save = doc.paths['/api/profiles/{name}'].post;
    expect(save.summary).toBe('Creates or overwrites a profile');
    expect(save.description).toContain('`GET /v1/models` as `openhands_<name>`');
  });

  it('escapes <tags> outside code in every markdown description, so <think> stays visible', () => {
    const descriptions: string[] = [];
    const walk = (node: unknown, key = ''): void => {
      if (key === 'example' || key === 'examples') return;
      if (key === 'description' && typeof node === 'string') descriptions.push(node);
      else if (node && typeof node === 'object')
        for (const [k, v] of Object.entries(node)) walk(v, Array.isArray(node) ? '' : k);
    };
    walk(doc);
    const raw = descriptions.filter((d) =>
      d.split(/`[^`]*`/).some((outside) => /<[a-z/]/i.test(outside)),
    );
    expect(raw).toEqual([]);
    const progress = doc.paths['/v1/chat/completions'].post.parameters?.find((p) =>
      p.description?.includes('think'),
    );
    expect(progress?.description).toContain('&lt;think>');
  });

  it('shows a realistic example for every schema, none built from the validation limits', () => {
    const missing = Object.entries(doc.components.schemas)
      .filter(([, s]) => (s.type ?? 'object') === 'object' && s.example === undefined)
      .map(([name]) => name);
    // Each DTO class needs @ApiExample({...}) (src/common/http/openapi-document.ts).
    expect(missing).toEqual([]);

    const profile = doc.components.schemas.SaveProfile.example as { llm: Record<string, unknown> };
    expect(profile.llm).toEqual({ model: 'openai/gpt-4o-mini', api_key: expect.any(String) });
    const chat = doc.components.schemas.CreateChatCompletion.example as {
      model: string;
      messages: { role: string; content: string }[];
    };
    expect(chat.model).toBe('openhands_default');
    expect(chat.messages.map((m) => m.role)).toEqual(['system', 'user']);

    // An example value that sits on a limit of its schema is one built from the limits.
    const onLimits: string[] = [];
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      const example = schema.example as Record<string, unknown> | undefined;
      for (const [prop, def] of Object.entries(schema.properties ?? {})) {
        const value = example?.[prop];
        const limits = def as { minimum?: number; maximum?: number };
        if (typeof value === 'number' && limits.maximum !== undefined && value === limits.maximum)
          onLimits.push(`${name}.${prop}=${value}`);
      }
    }
    expect(onLimits).toEqual([]);
    // the answer examples say what the service says
    expect(doc.components.schemas.ProfileSaved.example).toMatchObject({
      message: "Profile 'default' created.",
    });
  });

  it('is the document committed as openapi.json', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8'));
    expect(doc).toEqual(committed);
  });
});
