import { randomBytes } from 'node:crypto';
import { jsonSchema, tool, type JSONSchema7, type ToolSet } from 'ai';

/**
 * Which tools the model gets in a turn: the server's workspace tools (`terminal`, `file_editor`,
 * `task_tracker`, `think`, `finish`), the client's own (sent with the request, run by the client),
 * or both.
 */
export const TOOL_MODES = ['server', 'client', 'both'] as const;
export type ToolMode = (typeof TOOL_MODES)[number];

/** A tool the client declared: the model may call it; the client runs it and sends the result back. */
export interface ClientTool {
  name: string;
  description?: string;
  /** JSON Schema of the arguments (an object schema). */
  parameters: JSONSchema7;
  strict?: boolean;
}

/**
 * Which tool the model must (or must not) call: `auto` (it decides), `none` (no client tool),
 * `required` (some tool), or one tool by name.
 */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** The tool settings of one turn, independent of the API that carried them. */
export interface TurnTools {
  mode: ToolMode;
  client: ClientTool[];
  choice: ToolChoice;
  /** `false`: at most one client tool call per response (`parallel_tool_calls: false`). */
  parallel: boolean;
}

/** A client tool call the turn paused on: the client runs it and answers with its result. */
export interface PendingToolCall {
  /** The id the client sees and answers with (ours: unique across conversations). */
  id: string;
  name: string;
  /** The arguments as JSON text, as the OpenAI APIs carry them. */
  arguments: string;
}

/** A result the client sends back for a pending call. */
export interface ClientToolResult {
  toolCallId: string;
  output: string;
  isError?: boolean;
}

/** A fresh id for a client tool call; the provider's own id stays in the LLM's history. */
export const clientCallId = () => `call_${randomBytes(12).toString('hex')}`;

/** The alias under which a pending call's conversation is found again (ConversationsService aliases). */
export const toolCallAlias = (id: string) => `tool_call:${id}`;

/** The client's tools for the AI SDK, without `execute`: calls to them pause the turn. */
export function clientToolSet(tools: readonly ClientTool[]): ToolSet {
  return Object.fromEntries(
    tools.map((t) => [
      t.name,
      tool({
        description: t.description,
        inputSchema: jsonSchema<unknown>(objectSchema(t.parameters)),
        ...(t.strict ? { strict: true } : {}),
      }),
    ]),
  );
}

/** Providers insist on an object schema; a client that sent none gets an empty one. */
function objectSchema(schema: JSONSchema7 | undefined): JSONSchema7 {
  if (!schema || typeof schema !== 'object') return { type: 'object', properties: {} };
  return schema.type ? schema : { type: 'object', properties: {}, ...schema };
}

/** The arguments as JSON text: parsed input is serialised, raw text (invalid JSON) is passed on. */
export function argumentsText(input: unknown): string {
  if (typeof input === 'string') return input;
  return JSON.stringify(input ?? {});
}
