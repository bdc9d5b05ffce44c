import {
  TOOL_MODES,
  type ClientToolResult,
  type ToolChoice,
  type ToolMode,
  type TurnTools,
  type AnswerFormat,
  type ChatText,
  type TurnRequest,
} from '../agent/turns.types';
import { AppError, invalidRequest } from '../common/errors/app-error';
import type {
  ChatMessageDto,
  ContentPart,
  CreateChatCompletionDto,
} from './dto/create-chat-completion.dto';

/** Which tools the model gets: `server`, `client` or `both` (default: the profile's `tool_mode`, else both). */
export const TOOLS_HEADER = 'X-OpenHands-Tools';

export function toTurnRequest(messages: ChatMessageDto[]): TurnRequest {
  const last = messages.map((m) => m.role).lastIndexOf('user');
  const after = messages.slice(last + 1);
  if (last !== -1 && after.some((m) => m.role === 'assistant')) {
    throw new AppError(
      'invalid',
      'chat.assistant_prefill_unsupported',
      'The messages end with an assistant message after the last user message (a prefill). An agent turn cannot continue a partial answer: end the messages with the user message, or with the tool results of a tool call.',
      { param: `messages[${messages.length - 1}]` },
    );
  }
  if (last === -1) {
    throw invalidRequest(
      "messages must contain a user message: the last one is the turn's input.",
      [{ field: 'messages', message: 'no user message' }],
    );
  }
  const input = toChatText(messages[last]);
  if (!input.text.trim() && input.images.length === 0) {
    throw invalidRequest('The last user message is empty.', [
      { field: `messages[${last}].content`, message: 'must not be empty' },
    ]);
  }
  const systemTexts = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => toChatText(m).text.trim())
    .filter(Boolean);
  const prior = messages
    .slice(0, last)
    .filter((m) => m.role === 'user' || m.role === 'assistant')
    .map(toChatText)
    .filter((m) => m.text.trim() || m.images.length > 0);
  return { systemText: systemTexts.length ? systemTexts.join('\n\n') : null, input, prior };
}

function toChatText(message: ChatMessageDto): ChatText {
  const role = message.role === 'assistant' ? 'assistant' : 'user';
  const content = message.content;
  if (content === null || content === undefined) return { role, text: '', images: [] };
  if (typeof content === 'string') return { role, text: content, images: [] };
  const parts: ContentPart[] = content;
  return {
    role,
    text: parts
      .filter((p): p is Extract<ContentPart, { type: 'text' }> => p.type === 'text')
      .map((p) => p.text)
      .join('\n'),
    images: parts
      .filter((p): p is Extract<ContentPart, { type: 'image_url' }> => p.type === 'image_url')
      .map((p) => (typeof p.image_url === 'string' ? p.image_url : p.image_url.url)),
  };
}

/** A short title from the first input: its first line, at most 80 characters. */
export function titleOf(text: string): string | null {
  const line = text.trim().split('\n')[0]?.trim() ?? '';
  if (!line) return null;
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/**
 * The `tool` messages a request ends with: the client's results for a paused turn's calls. `null`
 * when the request does not end with tool results.
 */
export function toolResultsOf(messages: ChatMessageDto[]): ClientToolResult[] | null {
  let start = messages.length;
  while (start > 0 && messages[start - 1].role === 'tool') start--;
  if (start === messages.length) return null;
  return messages.slice(start).map((m, i) => {
    if (!m.tool_call_id) {
      throw invalidRequest('A tool message needs the tool_call_id of the call it answers.', [
        { field: `messages[${start + i}].tool_call_id`, message: 'required on role tool' },
      ]);
    }
    return { toolCallId: m.tool_call_id, output: toChatText(m).text };
  });
}

/** The request's tool settings, with the mode from the header or else the profile. */
export function turnToolsOf(
  body: CreateChatCompletionDto,
  header: string | undefined,
  profileMode: ToolMode | null | undefined,
): TurnTools {
  if (body.functions?.length || body.function_call !== undefined) {
    throw new AppError(
      'invalid',
      'chat.functions_unsupported',
      'functions and function_call are deprecated and not supported: send tools and tool_choice instead.',
      { param: body.functions?.length ? 'functions' : 'function_call' },
    );
  }
  return {
    mode: toolModeOf(header) ?? profileMode ?? 'both',
    client: (body.tools ?? []).map((t) => ({
      name: t.function.name,
      ...(t.function.description ? { description: t.function.description } : {}),
      parameters: t.function.parameters ?? { type: 'object', properties: {} },
      ...(t.function.strict ? { strict: true } : {}),
    })),
    choice: toolChoiceOf(body.tool_choice),
    parallel: body.parallel_tool_calls !== false,
  };
}

/**
 * The tools mode the `X-OpenHands-Tools` header asks for, or null when it is absent; `family`
 * names the route family in the error code (`chat`, `responses`).
 */
export function toolModeOf(header: string | undefined, family = 'chat'): ToolMode | null {
  if (header === undefined || header.trim() === '') return null;
  const value = header.trim().toLowerCase();
  if ((TOOL_MODES as readonly string[]).includes(value)) return value as ToolMode;
  throw new AppError(
    'invalid',
    `${family}.invalid_tools_mode`,
    `${TOOLS_HEADER} must be one of ${TOOL_MODES.join(', ')}.`,
    { param: TOOLS_HEADER },
  );
}

function toolChoiceOf(choice: CreateChatCompletionDto['tool_choice']): ToolChoice {
  if (!choice) return 'auto';
  if (typeof choice === 'string') return choice;
  return { name: choice.function.name };
}

/** `response_format` as the agent takes it; `text` (or none) leaves the answer free. */
export function answerFormatOf(
  format: CreateChatCompletionDto['response_format'],
): AnswerFormat | undefined {
  if (!format || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const { name, description, schema, strict } = format.json_schema;
  return {
    type: 'json_schema',
    name,
    ...(description ? { description } : {}),
    ...(schema ? { schema } : {}),
    ...(strict ? { strict: true } : {}),
  };
}
