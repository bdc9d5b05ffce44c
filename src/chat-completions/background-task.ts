import type { ChatMessageDto } from './dto/create-chat-completion.dto';

/**
 * Prompt templates of the auxiliary requests clients send beside the user's chat (titles, tags,
 * follow-up suggestions, search queries, summaries, memory extraction, compaction). They get one
 * direct LLM call that never touches a conversation, not an agent turn: run as a turn they would
 * take over the user's conversation. Matched against the last system and user texts; the real
 * prompt texts they were written from are in test/fixtures/auxiliary-prompts.ts.
 */
const TEMPLATES: readonly RegExp[] = [
  // Open WebUI: every task template starts with "### Task:" and quotes the chat history
  /^\s*### Task:[\s\S]*(<chat_history>|autocompletion system)/i,
  // LibreChat title generation (completion and structured variants, assistants endpoint)
  /concise, 5-word-or-less title for the conversation/i,
  /analyze this conversation and provide:[\s\S]*detected language[\s\S]*concise title/i,
  /generate a concise title \(max \d+ characters\) for a conversation/i,
  // opencode: the title agent's system prompt, and its compaction request
  /^\s*You are a title generator\. You output ONLY a thread title/i,
  /^\s*Provide a detailed prompt for continuing our conversation above/i,
  // Continue: the chat describer (session titles)
  /please reply with a title for the chat that is 3-4 words in length/i,
  // Qwen Code / Gemini CLI: the next-speaker check after a model turn, and history compression
  /^\s*Analyze \*only\* the content and structure of your immediately preceding response/i,
  /^\s*You are the component that summarizes (internal chat history into a given structure|a conversation when its context window is about to overflow)/i,
  // Qwen Code: memory extraction (forked agent and side query), recall, consolidation, session
  // title and recap, and /summary
  /^\s*You are now acting as the managed memory extraction subagent/i,
  /^\s*You maintain durable managed memory for an AI coding assistant/i,
  /^\s*You are selecting memories that will be useful to an AI coding assistant/i,
  /^\s*You are performing a managed memory dream/i,
  /^\s*Generate a concise, sentence-case title \(3-7 words\) that captures what this programming-assistant session is about/i,
  /^\s*You generate session recaps for a programming assistant CLI/i,
  /^\s*Please analyze the conversation history above and generate a comprehensive project summary/i,
  // other clients' memory/fact extraction over the history (generic forms)
  /^\s*(Please )?(review|analy[sz]e) the (conversation|chat)( history)?[\s\S]{0,200}\b(extract|save|remember)\b[\s\S]{0,80}\b(memor(y|ies)|facts?)\b/i,
  /^\s*Extract (any )?(the )?(key |important |durable |long-term )*(memor(y|ies)|facts?)\b[\s\S]{0,120}\b(conversation|chat)\b/i,
  // Cline: its summarize_task (context condensation) and new_task instructions
  /<explicit_instructions type="(summarize_task|new_task|condense)">/,
  // the generic forms: "Summarise the conversation above / so far …"
  /^\s*(Please )?(summari[sz]e|write a (short |brief |concise )?summary of) (the|this|our) (conversation|chat|discussion)( (above|so far|history))?\b/i,
];

/** What Qwen Code and others put before the user's text: hidden reminders, not the request. */
const REMINDERS = /^\s*(<system-reminder>[\s\S]*?<\/system-reminder>\s*)+/;

export function isBackgroundTask(messages: ChatMessageDto[]): boolean {
  const candidates = [
    ...messages.filter((m) => m.role === 'system' || m.role === 'developer'),
    ...messages.filter((m) => m.role === 'user').slice(-2),
  ];
  return candidates.some((m) => {
    const text = (
      typeof m.content === 'string'
        ? m.content
        : (m.content ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('\n')
    ).replace(REMINDERS, '');
    return TEMPLATES.some((template) => template.test(text));
  });
}
