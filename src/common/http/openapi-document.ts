import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Tags in the order a newcomer reads the API: the chat first, health last. A tag not listed here
 * (a new module's) follows these, in the order its routes appear.
 */
export const TAG_ORDER: readonly { name: string; description: string }[] = [
  { name: 'chat', description: 'OpenAI Chat Completions: every request runs one agent turn.' },
  { name: 'responses', description: 'OpenAI Responses: every response is one agent turn.' },
  { name: 'models', description: 'Stored profiles as OpenAI models, `openhands_<profile>`.' },
  {
    name: 'profiles',
    description: 'LLM profiles: the model, its key (encrypted) and its settings.',
  },
  {
    name: 'conversations',
    description:
      'Server-side conversations: status, usage and cost, the event log, cancel, delete.',
  },
  { name: 'health', description: 'Liveness, readiness and server info; no key needed.' },
  { name: 'operations', description: 'Metrics for Prometheus.' },
];

const examples = new Map<string, unknown>();

/**
 * A realistic example of the whole DTO, shown by Swagger UI as the example value (and used by
 * "Try it out" for a request body) instead of one built from the validation limits.
 */
export function ApiExample(example: object): ClassDecorator {
  return (target) => {
    examples.set(target.name, example);
  };
}

/**
 * The document as Swagger UI should show it: examples from `@ApiExample`, one-line plain-text
 * summaries (Swagger UI renders summaries as text, descriptions as markdown) with the rest of the
 * comment as the description, `<` outside code spans escaped in markdown so `<think>` stays
 * visible, tags in `TAG_ORDER`, and schema names without the `Dto` suffix of our class names.
 */
export function polishDocument(doc: OpenAPIObject): OpenAPIObject {
  const schemas = doc.components?.schemas ?? {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (examples.has(name) && !('$ref' in schema)) schema.example = examples.get(name);
  }
  for (const ops of Object.values(doc.paths)) {
    for (const op of Object.values(
      ops as Record<string, { summary?: string; description?: string }>,
    )) {
      if (typeof op !== 'object' || !op.summary) continue;
      const { summary, rest, plain } = splitSummary(op.summary);
      // A first sentence with code in it is repeated as markdown, where the code shows as code.
      const more = plain ? rest : op.summary.trim();
      op.summary = summary;
      if (more) op.description = op.description ? `${more}\n\n${op.description}` : more;
    }
  }
  const ordered = orderTags(doc);
  escapeDescriptions(ordered);
  return renameSchemas(ordered, (name) => name.replace(/Dto$/, ''));
}

/** The first sentence as plain text, and what follows it (markdown). */
export function splitSummary(text: string): { summary: string; rest: string; plain: boolean } {
  const end = /(?<!\b(?:e\.g|i\.e|etc|vs))[.!?](?=\s+[A-Z`])/.exec(text);
  const first = end ? text.slice(0, end.index + 1) : text;
  const flat = first.replace(/\s+/g, ' ').trim();
  const summary = flat
    .replace(/`([^`]*)`/g, '$1')
    .replace(/\*\*([^*]+)\*\*/g, '$1')
    .replace(/\.$/, '');
  return {
    summary,
    rest: end ? text.slice(end.index + 1).trim() : '',
    plain: summary === flat.replace(/\.$/, ''),
  };
}

function orderTags(doc: OpenAPIObject): OpenAPIObject {
  const seen: string[] = [];
  for (const ops of Object.values(doc.paths))
    for (const op of Object.values(ops as Record<string, { tags?: string[] }>))
      for (const tag of (typeof op === 'object' && op.tags) || [])
        if (!seen.includes(tag)) seen.push(tag);
  const known = TAG_ORDER.filter((t) => seen.includes(t.name));
  const others = seen.filter((t) => !TAG_ORDER.some((k) => k.name === t)).map((name) => ({ name }));
  const tags = [...known, ...others];
  const rank = (path: object) => {
    const first = Object.values(path as Record<string, { tags?: string[] }>).find(
      (op) => typeof op === 'object' && op.tags?.length,
    )?.tags?.[0];
    const index = tags.findIndex((t) => t.name === first);
    return index === -1 ? tags.length : index;
  };
  const paths = Object.entries(doc.paths)
    .map((entry, index) => ({ entry, index, rank: rank(entry[1]) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map(({ entry }) => entry);
  return { ...doc, tags, paths: Object.fromEntries(paths) };
}

/** `<` outside code spans becomes `&lt;` in every markdown description (not inside examples). */
function escapeDescriptions(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) escapeDescriptions(item);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'example' || key === 'examples') continue;
    if (key === 'description' && typeof value === 'string') record[key] = escapeMarkdown(value);
    else escapeDescriptions(value);
  }
}

export function escapeMarkdown(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/</g, '&lt;')))
    .join('');
}

/** Renames component schemas (where the new name is free) and every reference to them. */
function renameSchemas(doc: OpenAPIObject, rename: (name: string) => string): OpenAPIObject {
  const schemas = doc.components?.schemas ?? {};
  const names = Object.keys(schemas);
  const taken = new Set(names);
  const mapping = new Map<string, string>();
  for (const name of names) {
    const renamed = rename(name);
    if (renamed !== name && renamed && !taken.has(renamed)) {
      mapping.set(name, renamed);
      taken.add(renamed);
    }
  }
  const prefix = '#/components/schemas/';
  const rewrite = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(rewrite);
    if (typeof node === 'string' && node.startsWith(prefix))
      return prefix + (mapping.get(node.slice(prefix.length)) ?? node.slice(prefix.length));
    if (typeof node !== 'object' || node === null) return node;
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, rewrite(v)]));
  };
  const rewritten = rewrite(doc) as OpenAPIObject;
  rewritten.components = {
    ...rewritten.components,
    schemas: Object.fromEntries(
      Object.entries(rewritten.components?.schemas ?? {}).map(([name, schema]) => [
        mapping.get(name) ?? name,
        schema,
      ]),
    ),
  };
  return rewritten;
}
