import { invalidRequest } from '../common/errors/app-error';
import type { ChatMessageDto, ContentPart } from './dto/create-chat-completion.dto';

/** A message as the agent takes it: text plus image URLs. */
export interface ChatText {
  role: 'user' | 'assistant';
  text: string;
  images: string[];
}

/** A chat completion request mapped onto an agent turn (API.md section 5, "Mapping into the agent"). */
export interface TurnRequest {
  /** `system` and `developer` texts, joined; they extend the system prompt of a new conversation. */
  systemText: string | null;
  /** The last `user` message: the turn's input. */
  input: ChatText;
  /** Earlier user/assistant turns, before the input: prior context of a new conversation. */
  prior: ChatText[];
}

export function toTurnRequest(messages: ChatMessageDto[]): TurnRequest {
  const last = messages.map((m) => m.role).lastIndexOf('user');
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
