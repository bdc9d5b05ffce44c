import { randomUUID } from 'node:crypto';
import {
  type ToolMode,
  type TurnTools,
  type AnswerFormat,
  type TurnRequest,
} from '../agent/turns.types';
import { AppError, invalidRequest } from '../common/errors/app-error';
import { toolModeOf, toTurnRequest } from '../chat-completions/chat-completions.service';
import type { ChatMessageDto, ContentPart } from '../chat-completions/chat-completions.types';
import type { CreateResponseDto } from './dto/create-response.dto';

/** An input item as `GET /v1/responses/{id}/input_items` lists it. */
export type StoredInputItem = Record<string, unknown> & { id: string; type: string };

/** A `function_call_output` item: the client's result for one of the turn's pending calls. */
export interface FunctionCallOutput {
  call_id: string;
  output: string;
}

export interface ResponseInput {
  /** The messages as a chat completion would carry them (system text, prior turns, the input). */
  turn: TurnRequest | null;
  /** Results of the client's function calls (resuming a paused turn). */
  functionOutputs: FunctionCallOutput[];
  /** The request's input items, with ids, for `input_items`. */
  items: StoredInputItem[];
}

const MESSAGE_ROLES = ['user', 'assistant', 'system', 'developer'] as const;
type Role = (typeof MESSAGE_ROLES)[number];

export const itemId = (prefix: string) => `${prefix}_${randomUUID().replaceAll('-', '')}`;

/**
 * Maps a Responses request onto an agent turn, the way a chat completion's messages are mapped
 * (chat-request.ts): `instructions` and system/developer messages extend the system prompt of a
 * new conversation, the last user message is the input, earlier user/assistant messages are the
 * prior context. `function_call` and `reasoning` items a stateless client replays are history the
 * conversation already holds, and are skipped.
 */
export function toResponseInput(body: CreateResponseDto): ResponseInput {
  const raw: Record<string, unknown>[] =
    typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
  const messages: ChatMessageDto[] = [];
  const functionOutputs: FunctionCallOutput[] = [];
  const items: StoredInputItem[] = [];
  if (body.instructions?.trim()) messages.push({ role: 'system', content: body.instructions });

  raw.forEach((item, i) => {
    const field = `input[${i}]`;
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = item.role as Role;
        if (!MESSAGE_ROLES.includes(role))
          throw bad(field, `role must be one of ${MESSAGE_ROLES.join(', ')}`);
        const content = contentOf(item.content, `${field}.content`);
        messages.push({ role, content });
        items.push({
          id: itemId('msg'),
          type: 'message',
          role,
          status: 'completed',
          content: storedContent(role, item.content),
        });
        return;
      }
      case 'function_call_output': {
        if (typeof item.call_id !== 'string' || !item.call_id)
          throw bad(`${field}.call_id`, 'must be a non-empty string');
        const output = outputText(item.output, `${field}.output`);
        functionOutputs.push({ call_id: item.call_id, output });
        items.push({
          id: itemId('fco'),
          type: 'function_call_output',
          call_id: item.call_id,
          output,
          status: 'completed',
        });
        return;
      }
      case 'function_call':
      case 'reasoning':
        return;
      default:
        throw bad(
          `${field}.type`,
          `item type ${JSON.stringify(type)} is not supported; use message or function_call_output items`,
        );
    }
  });

  // Results after the last user message resume the turn that called them; earlier ones are
  // history a stateless client replays, like its function_call items.
  const lastUser = raw.findLastIndex(
    (item) => (item.type ?? 'message') === 'message' && item.role === 'user',
  );
  const trailing = raw.slice(lastUser + 1).filter((item) => item.type === 'function_call_output');
  const results = functionOutputs.slice(functionOutputs.length - trailing.length);
  if (results.length > 0) return { turn: null, functionOutputs: results, items };
  const hasUser = lastUser !== -1;
  if (!hasUser)
    throw invalidRequest("input must contain a user message: it is the turn's input.", [
      { field: 'input', message: 'no user message' },
    ]);
  return { turn: toTurnRequest(messages), functionOutputs: [], items };
}

function contentOf(content: unknown, field: string): string | ContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw bad(field, 'must be a string or an array of content parts');
  return content.map((part: unknown, i): ContentPart => {
    const p = (part ?? {}) as Record<string, unknown>;
    switch (p.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        if (typeof p.text !== 'string') throw bad(`${field}[${i}].text`, 'must be a string');
        return { type: 'text', text: p.text };
      case 'refusal':
        return { type: 'text', text: typeof p.refusal === 'string' ? p.refusal : '' };
      case 'input_image': {
        const url = p.image_url;
        if (typeof url !== 'string' || !/^(https?:|data:image\/)/.test(url))
          throw bad(
            `${field}[${i}].image_url`,
            'input_image needs image_url as an http(s) or data:image URL (file_id is not supported)',
          );
        return { type: 'image_url', image_url: { url } };
      }
      default:
        throw bad(
          `${field}[${i}].type`,
          `content part type ${JSON.stringify(p.type)} is not supported; use input_text or input_image`,
        );
    }
  });
}

/** Content as the input item list shows it. */
function storedContent(role: Role, content: unknown): unknown[] {
  const textType = role === 'assistant' ? 'output_text' : 'input_text';
  if (typeof content === 'string') return [{ type: textType, text: content }];
  return (content as Record<string, unknown>[]).map((p) =>
    p.type === 'text' ? { type: textType, text: p.text } : p,
  );
}

function outputText(output: unknown, field: string): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output))
    return output
      .map((p: { type?: unknown; text?: unknown }) => (typeof p?.text === 'string' ? p.text : ''))
      .join('\n');
  throw bad(field, 'must be a string or an array of input_text parts');
}

const bad = (field: string, message: string) =>
  invalidRequest(`Invalid request: ${field} ${message}.`, [{ field, message }], field);

/**
 * What this server cannot do with a request, refused with a clear 400 instead of being ignored:
 * tools other than functions (hosted tools, MCP, custom grammars), unknown `text.format` types.
 */
export function checkSupported(body: CreateResponseDto): void {
  for (const [i, tool] of (body.tools ?? []).entries()) {
    if (tool.type !== 'function')
      throw unsupported(
        `tools[${i}].type`,
        `Tool type ${JSON.stringify(tool.type)} is not supported: only function tools (executed by the client) are. The agent brings its own shell and file tools.`,
      );
  }
  const choice = body.tool_choice;
  if (
    choice !== undefined &&
    choice !== null &&
    !['auto', 'none', 'required'].includes(choice as string) &&
    !(typeof choice === 'object' && choice.type === 'function' && typeof choice.name === 'string')
  )
    throw unsupported(
      'tool_choice',
      'tool_choice must be "auto", "none", "required" or {"type": "function", "name": …}.',
    );
  answerFormatOf(body);
}

/**
 * `text.format` as the agent takes it (the structured-output path of chat's `response_format`):
 * `text` (or none) leaves the answer free; `json_object`; `json_schema` with `name` and `schema`.
 */
export function answerFormatOf(body: CreateResponseDto): AnswerFormat | undefined {
  const format = body.text?.format;
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type !== 'json_schema')
    throw unsupported(
      'text.format.type',
      `text.format.type ${JSON.stringify(format.type)} is not supported; use "text", "json_object" or "json_schema".`,
    );
  const { name, description, schema, strict } = format;
  if (typeof name !== 'string' || !name)
    throw bad('text.format.name', 'must be a non-empty string (json_schema)');
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw bad('text.format.schema', 'must be a JSON Schema object (json_schema)');
  return {
    type: 'json_schema',
    name,
    ...(typeof description === 'string' && description ? { description } : {}),
    schema: schema as Record<string, unknown>,
    ...(strict === true ? { strict: true } : {}),
  };
}

const unsupported = (param: string, message: string) =>
  new AppError('invalid', 'responses.unsupported', message, { param });

/**
 * The request's function tools as the client-tools bridge takes them; the mode (server, client or
 * both) comes from `X-OpenHands-Tools`, else the profile's `tool_mode`, else both.
 */
export function turnToolsOf(
  body: CreateResponseDto,
  header: string | undefined,
  profileMode: ToolMode | null | undefined,
): TurnTools {
  const choice = body.tool_choice;
  return {
    mode: toolModeOf(header, 'responses') ?? profileMode ?? 'both',
    client: (body.tools ?? []).map((t, i) => {
      if (typeof t.name !== 'string' || !t.name)
        throw bad(`tools[${i}].name`, 'must be a non-empty string');
      return {
        name: t.name,
        ...(typeof t.description === 'string' ? { description: t.description } : {}),
        parameters: t.parameters ?? { type: 'object', properties: {} },
        ...(t.strict === true ? { strict: true } : {}),
      };
    }),
    choice:
      choice === 'none' || choice === 'required'
        ? choice
        : typeof choice === 'object' && choice !== null
          ? { name: String(choice.name) }
          : 'auto',
    parallel: body.parallel_tool_calls !== false,
  };
}
