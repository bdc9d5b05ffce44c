import { z } from 'zod';
import type { LlmResponseFormat } from '../models/llm.types';

/**
 * The form the client wants the final answer in (`response_format`, Responses `text.format`):
 * any JSON object, or JSON that fits a schema.
 */
export type AnswerFormat =
  | { type: 'json_object' }
  | {
      type: 'json_schema';
      name: string;
      description?: string;
      schema?: Record<string, unknown>;
      strict?: boolean;
    };

export type AnswerCheck = { ok: true; json: string } | { ok: false; problem: string };

/** What the system prompt adds so the agent's final answer comes as that JSON. */
export function formatInstructions(format: AnswerFormat): string {
  const schema =
    format.type === 'json_schema' && format.schema
      ? ` It must fit this JSON Schema (${format.name}):\n${JSON.stringify(format.schema)}`
      : ' It must be a JSON object.';
  return (
    'The client reads your final answer (your plain reply, or the `finish` message) as JSON.' +
    schema +
    '\nGive the final answer as that JSON only: no prose before or after it, no code fence.'
  );
}

/** What the provider is asked for when the answer must be JSON now (the repair step). */
export function llmFormatOf(format: AnswerFormat): LlmResponseFormat {
  if (format.type === 'json_object' || !format.schema) return { type: 'json' };
  return {
    type: 'json',
    schema: format.schema,
    name: format.name,
    ...(format.description ? { description: format.description } : {}),
  };
}

/** A note to the model after a final answer that missed the format: one chance to repair it. */
export const repairNote = (problem: string) =>
  `Your final answer is not what the client asked for: ${problem}. Reply with only the corrected JSON, nothing else.`;

const validators = new WeakMap<Record<string, unknown>, z.ZodType | null>();

/**
 * Checks a final answer: it must parse as JSON (one surrounding code fence is tolerated and
 * removed), be an object for `json_object`, and fit the schema for `json_schema`. Returns the JSON
 * text the client gets.
 */
export function checkAnswer(format: AnswerFormat, answer: string): AnswerCheck {
  const text = unfence(answer.trim());
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, problem: `it is not valid JSON (${(err as Error).message})` };
  }
  if (format.type === 'json_object' || !format.schema) {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return { ok: false, problem: 'it is not a JSON object' };
    return { ok: true, json: text };
  }
  const validator = validatorOf(format.schema);
  if (validator) {
    const parsed = validator.safeParse(value);
    if (!parsed.success) {
      const issues = parsed.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
        .join('; ');
      return { ok: false, problem: `it does not fit the schema '${format.name}' (${issues})` };
    }
  }
  return { ok: true, json: text };
}

/** A validator for the schema; `null` when zod cannot read it (then only JSON itself is checked). */
function validatorOf(schema: Record<string, unknown>): z.ZodType | null {
  if (!validators.has(schema)) {
    let validator: z.ZodType | null;
    try {
      validator = z.fromJSONSchema(schema);
    } catch {
      validator = null;
    }
    validators.set(schema, validator);
  }
  return validators.get(schema) ?? null;
}

function unfence(text: string): string {
  const fenced = /^```[a-zA-Z]*\s*\n([\s\S]*?)\n?```$/.exec(text);
  return fenced ? fenced[1].trim() : text;
}
