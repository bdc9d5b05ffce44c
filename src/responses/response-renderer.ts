import type { AgentEvent, TurnOutcome, PendingToolCall } from '../agent/turns.types';
import { failureOf, stepLine } from '../chat-completions/chat-completions.service';
import type { TurnUsage } from '../conversations/usage.types';
import type { ResponseDto, ResponseStatus, ResponseUsageDto } from './dto/response.dto';
import { itemId } from './response-input';

/** One server-sent event of a response stream, as the official SDK types them. */
export type ResponseStreamEvent = { type: string; sequence_number: number } & Record<
  string,
  unknown
>;

export const TERMINAL_EVENTS = new Set([
  'response.completed',
  'response.failed',
  'response.incomplete',
]);
export const TERMINAL_STATUSES: ReadonlySet<ResponseStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'incomplete',
]);

type MessageItem = {
  id: string;
  type: 'message';
  role: 'assistant';
  status: 'in_progress' | 'completed';
  content: { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] }[];
};
type ReasoningItem = {
  id: string;
  type: 'reasoning';
  summary: { type: 'summary_text'; text: string }[];
  status?: 'in_progress' | 'completed';
};
type OutputItem = MessageItem | ReasoningItem | Record<string, unknown>;

export const unixNow = () => Math.floor(Date.now() / 1000);

export function responseUsage(usage: TurnUsage): ResponseUsageDto {
  return {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: usage.cache_read_tokens },
    output_tokens: usage.completion_tokens,
    output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    cost_usd: Number(usage.cost_usd.toFixed(10)),
  };
}

/** The joined text of the `message` items, as the SDK's `output_text`. */
export const outputTextOf = (output: readonly OutputItem[]) =>
  output
    .filter((i): i is MessageItem => i.type === 'message')
    .flatMap((m) => m.content.map((c) => c.text))
    .join('');

/**
 * Renders a turn's agent events as a Responses stream: the documented event sequence with
 * `sequence_number`s, and the response object it builds up. The agent's text becomes `message`
 * items (a new one after every run of steps, the final answer last); its steps (tool calls and
 * results, its own reasoning, retries) become `reasoning` items whose summary reads like the chat
 * stream's reasoning lines. The same rendering serves streamed and non-streamed requests, so both
 * end with the same object.
 */
export class ResponseRenderer {
  private seq = 0;
  private readonly output: OutputItem[] = [];
  private open: { item: MessageItem | ReasoningItem; index: number } | null = null;

  constructor(
    private readonly response: ResponseDto,
    private readonly emit: (event: ResponseStreamEvent) => void,
  ) {}

  get snapshot(): ResponseDto {
    return structuredClone(this.response);
  }

  /** The object with the output so far (the open item as it stands), while the turn runs. */
  progress(): ResponseDto {
    const output = structuredClone(this.output) as Record<string, unknown>[];
    return { ...this.snapshot, output, output_text: outputTextOf(this.output) };
  }

  /** `response.created`, then `response.in_progress`. */
  start(): void {
    this.send('response.created', { response: this.snapshot });
    this.send('response.in_progress', { response: this.snapshot });
  }

  handle(event: AgentEvent): void {
    switch (event.type) {
      case 'content-delta':
        return this.text(event.text);
      case 'reasoning-delta':
        return this.summary(event.text);
      case 'retry':
        return this.summary(
          `▸ The LLM is unavailable (${event.reason}); retrying in ${Math.ceil(event.delayMs / 1000)} s\n`,
        );
      case 'event': {
        const line = stepLine(event.event, event.display);
        if (line) this.summary(line);
        return;
      }
      case 'end':
        return this.end(event.outcome);
    }
  }

  private text(delta: string): void {
    let item = this.open?.item;
    if (item?.type !== 'message') {
      delta = delta.replace(/^\n+/, ''); // the separator between steps starts a new item instead
      if (!delta) return;
      item = this.openItem<MessageItem>({
        id: itemId('msg'),
        type: 'message',
        role: 'assistant',
        status: 'in_progress',
        content: [],
      });
      const part = { type: 'output_text' as const, text: '', annotations: [], logprobs: [] };
      item.content.push(part);
      this.send('response.content_part.added', {
        item_id: item.id,
        output_index: this.open!.index,
        content_index: 0,
        part: structuredClone(part),
      });
    }
    item.content[0].text += delta;
    this.send('response.output_text.delta', {
      item_id: item.id,
      output_index: this.open!.index,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  private summary(delta: string): void {
    let item = this.open?.item;
    if (item?.type !== 'reasoning') {
      item = this.openItem<ReasoningItem>({ id: itemId('rs'), type: 'reasoning', summary: [] });
      const part = { type: 'summary_text' as const, text: '' };
      item.summary.push(part);
      this.send('response.reasoning_summary_part.added', {
        item_id: item.id,
        output_index: this.open!.index,
        summary_index: 0,
        part: structuredClone(part),
      });
    }
    item.summary[0].text += delta;
    this.send('response.reasoning_summary_text.delta', {
      item_id: item.id,
      output_index: this.open!.index,
      summary_index: 0,
      delta,
    });
  }

  private openItem<T extends MessageItem | ReasoningItem>(item: T): T {
    this.closeItem();
    const index = this.output.length;
    this.output.push(item);
    this.open = { item, index };
    this.send('response.output_item.added', { output_index: index, item: structuredClone(item) });
    return item;
  }

  private closeItem(): void {
    const open = this.open;
    if (!open) return;
    this.open = null;
    const { item, index } = open;
    if (item.type === 'message') {
      const part = item.content[0];
      const at = { item_id: item.id, output_index: index, content_index: 0 };
      this.send('response.output_text.done', { ...at, text: part.text, logprobs: [] });
      this.send('response.content_part.done', { ...at, part: structuredClone(part) });
      item.status = 'completed';
    } else {
      const part = item.summary[0];
      const at = { item_id: item.id, output_index: index, summary_index: 0 };
      this.send('response.reasoning_summary_text.done', { ...at, text: part.text });
      this.send('response.reasoning_summary_part.done', { ...at, part: structuredClone(part) });
    }
    this.send('response.output_item.done', { output_index: index, item: structuredClone(item) });
  }

  private end(outcome: TurnOutcome): void {
    // A final answer nobody streamed (it always is today) still ends up in the output.
    if (outcome.answer && !outputTextOf(this.output).includes(outcome.answer.trim()))
      this.text(`\n\n${outcome.answer}`);
    this.closeItem();
    for (const call of outcome.toolCalls ?? []) this.functionCall(call);
    const r = this.response;
    const failure = failureOf(outcome);
    r.status = statusOf(outcome);
    r.completed_at = unixNow();
    r.output = structuredClone(this.output);
    r.output_text = outputTextOf(this.output);
    r.usage = responseUsage(outcome.usage);
    if (outcome.reason === 'length') r.incomplete_details = { reason: 'max_output_tokens' };
    if (failure && outcome.reason !== 'cancelled')
      r.error = { code: errorCodeOf(failure.code, failure.status), message: failure.message };
    const type =
      r.status === 'completed'
        ? 'response.completed'
        : r.status === 'incomplete'
          ? 'response.incomplete'
          : 'response.failed';
    this.send(type, { response: this.snapshot });
  }

  /** A call of the client's function tool: the turn paused on it; the client answers with its output. */
  private functionCall(call: PendingToolCall): void {
    const item = {
      id: itemId('fc'),
      type: 'function_call',
      status: 'in_progress',
      call_id: call.id,
      name: call.name,
      arguments: '',
    };
    const index = this.output.length;
    this.output.push(item);
    this.send('response.output_item.added', { output_index: index, item: structuredClone(item) });
    const at = { item_id: item.id, output_index: index };
    this.send('response.function_call_arguments.delta', { ...at, delta: call.arguments });
    this.send('response.function_call_arguments.done', {
      ...at,
      name: call.name,
      arguments: call.arguments,
    });
    item.arguments = call.arguments;
    item.status = 'completed';
    this.send('response.output_item.done', { output_index: index, item: structuredClone(item) });
  }

  private send(type: string, body: Record<string, unknown>): void {
    this.emit({ type, sequence_number: this.seq++, ...body });
  }
}

function statusOf(outcome: TurnOutcome): ResponseStatus {
  if (outcome.reason === 'cancelled') return 'cancelled';
  if (outcome.error) return 'failed';
  if (outcome.reason === 'length') return 'incomplete';
  return 'completed';
}

/** The OpenAI code where one fits (`rate_limit_exceeded`, `server_error`), else ours. */
export function errorCodeOf(code: string, status: number): string {
  if (status === 429) return 'rate_limit_exceeded';
  const own = code.split('.').pop() ?? code;
  return status >= 500 && own === 'failed' ? 'server_error' : own;
}
