import type { ChatMessageDto } from './dto/create-chat-completion.dto';

/**
 * Prompt templates of the background requests chat UIs send after a reply (titles, tags, follow-up
 * suggestions, search queries, autocompletion). They get one direct LLM call, not an agent turn.
 */
const TEMPLATES: readonly RegExp[] = [
  // Open WebUI: every task template starts with "### Task:" and quotes the chat history
  /^\s*### Task:[\s\S]*(<chat_history>|autocompletion system)/i,
  // LibreChat title generation (completion and structured variants, assistants endpoint)
  /concise, 5-word-or-less title for the conversation/i,
  /analyze this conversation and provide:[\s\S]*detected language[\s\S]*concise title/i,
  /generate a concise title \(max \d+ characters\) for a conversation/i,
];

export function isBackgroundTask(messages: ChatMessageDto[]): boolean {
  const candidates = messages.filter((m) => m.role === 'user' || m.role === 'system').slice(-2);
  return candidates.some((m) => {
    const text =
      typeof m.content === 'string'
        ? m.content
        : (m.content ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('\n');
    return TEMPLATES.some((template) => template.test(text));
  });
}
