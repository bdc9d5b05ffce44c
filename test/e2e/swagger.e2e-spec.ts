import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestApp, type TestApp } from '../support/create-test-app';
import { registeredRoutes } from '../support/routes';

interface Operation {
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, unknown>[];
  requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  summary?: string;
}
interface SchemaObject {
  properties?: Record<string, { description?: string; $ref?: string; allOf?: unknown[] }>;
  required?: string[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, SchemaObject>; securitySchemes: Record<string, unknown> };
}

/** Routes served by Swagger itself rather than by a controller. */
const DOCS = /^\/(docs|openapi\.(json|yaml))(\/|$)/;
const PUBLIC = ['/alive', '/health', '/ready', '/server_info'];

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
      '#/components/schemas/SaveProfileDto',
    );
    const body = doc.components.schemas.SaveProfileDto;
    expect(body.required).toEqual(['llm']);
    expect(body.properties?.include_secrets?.description).toMatch(/stores the profile without it/);
    expect(JSON.stringify(body.properties?.llm)).toContain('#/components/schemas/LlmConfigDto');

    const llm = doc.components.schemas.LlmConfigDto;
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
    expect(schemaOf('/v1/models', 'get', '200')).toContain('ModelListDto');
    expect(schemaOf('/v1/models/{id}', 'get', '200')).toContain('ModelDto');
    expect(schemaOf('/api/profiles', 'get', '200')).toContain('ProfileListDto');
    expect(schemaOf('/api/profiles/{name}', 'get', '200')).toContain('ProfileDetailDto');
    expect(schemaOf('/ready', 'get', '200')).toContain('ReadinessDto');
    expect(Object.keys(doc.components.schemas.ModelDto.properties ?? {}).sort()).toEqual([
      'created',
      'id',
      'object',
      'owned_by',
    ]);
  });

  it('is the document committed as openapi.json', () => {
    const committed = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8'));
    expect(doc).toEqual(committed);
  });
});
