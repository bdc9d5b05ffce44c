/**
 * A scripted fake LLM on loopback, speaking the two wire protocols the gateway's providers use:
 * OpenAI Chat Completions and Anthropic Messages, streamed (SSE) or not.
 *
 * ```ts
 * const llm = await FakeLlmServer.start();
 * llm.enqueue(fakeReply.toolCall('terminal', { command: 'ls' }), fakeReply.text('Done.'));
 * // profile for the OpenAI protocol:    { model: 'openai/gpt-4o-mini', base_url: llm.url, api_key: 'sk-test' }
 * //   (also hosted_vllm/…, litellm_proxy/…, lm_studio/…; ollama/… takes llm.origin, the factory adds /v1)
 * // profile for the Anthropic protocol: { model: 'anthropic/claude-sonnet-4-5', base_url: llm.origin, api_key: 'sk-ant-test' }
 * //   (llm.url works too: the factory completes a base_url without /v1)
 * …
 * expect(llm.requests[1].toolResults[0].content).toContain('README.md');
 * await llm.close();
 * ```
 *
 * Every request is answered by the next queued reply; when the queue is empty, by the handler
 * (`FakeLlmServer.start({ handler })` or `setHandler`); with neither, by a 400 that says so (not a
 * 5xx, so a client with retries does not loop on it). Paths are matched on their ending, so any
 * prefix works: `…/chat/completions` is OpenAI, `…/messages` is Anthropic, `…/models` lists models.
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeProtocol = 'openai' | 'anthropic';

export interface FakeToolCall {
  name: string;
  /** An object is sent as its JSON; a string is sent verbatim (use it for invalid JSON). Default `{}`. */
  arguments?: Record<string, unknown> | string;
  /** Default `call_<n>` (OpenAI) / `toolu_<n>` (Anthropic). */
  id?: string;
}

export interface FakeUsage {
  /** Prompt tokens as OpenAI counts them: all of them, cached ones included. Default: ~chars/4. */
  promptTokens?: number;
  /** Default: ~chars/4 of the output, at least 1. */
  completionTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
}

export type FakeFinishReason = 'stop' | 'tool_calls' | 'length' | 'content_filter';

/** A model answer. Every field is optional: `{}` is an empty answer. */
export interface FakeCompletion {
  kind?: 'completion';
  /** The answer's text; an array is streamed as those chunks. */
  text?: string | string[];
  /** Reasoning (`reasoning_content` / Anthropic `thinking` block); an array is streamed as chunks. */
  reasoning?: string | string[];
  toolCalls?: FakeToolCall[];
  usage?: FakeUsage;
  /** Default: `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: FakeFinishReason;
  /** Reported model id; default: the requested one. */
  model?: string;
  /** Wait this long before sending the response headers. */
  delayMs?: number;
  /** Streaming: wait this long before each content chunk. */
  chunkDelayMs?: number;
  /** Streaming: after this many content chunks, go silent for `pauseMs` (forever when unset). */
  pauseAfterChunks?: number;
  pauseMs?: number;
  /**
   * After this many content chunks, destroy the socket (0: right after the opening event).
   * Non-streaming requests get the headers and half a body, then the socket is destroyed.
   */
  failAfterChunks?: number;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/** An HTTP error in the protocol's error shape (or `body` verbatim). */
export interface FakeHttpError {
  kind: 'error';
  status: number;
  /** Default: a message naming the status. */
  message?: string;
  /** OpenAI `error.code` (e.g. `context_length_exceeded`). */
  code?: string;
  /** Sent instead of the protocol's error envelope: an object as JSON, a string verbatim. */
  body?: unknown;
  /** e.g. `{ 'Retry-After': '2' }` or `{ 'retry-after-ms': '150' }`. */
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Never answers; the request stays open until the client aborts (or `close()`). */
export interface FakeHang {
  kind: 'hang';
}

/** Destroys the socket without a byte of response (a connection reset). */
export interface FakeDrop {
  kind: 'drop';
  delayMs?: number;
}

export type FakeReply = FakeCompletion | FakeHttpError | FakeHang | FakeDrop;

export type FakeHandler = (request: FakeLlmRequest) => FakeReply | Promise<FakeReply>;

/** One request as the fake received it, with the bits tests usually assert on pre-digested. */
export interface FakeLlmRequest {
  /** 0-based, in arrival order. */
  index: number;
  protocol: FakeProtocol;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** Lower-cased names, as node gives them. */
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  stream: boolean;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  model: string;
  /** System text: OpenAI `system`/`developer` messages or Anthropic `system`, joined by blank lines. */
  system: string;
  /** The request's messages as sent (OpenAI `messages` minus system/developer; Anthropic `messages`). */
  messages: Record<string, unknown>[];
  /** Text of the last user message (tool results left out). */
  lastUserText: string;
  /** Tool results the client sent back (OpenAI `tool` messages, Anthropic `tool_result` blocks). */
  toolResults: { id: string; content: string }[];
  /** Names of the tools the request declared. */
  toolNames: string[];
  /** Set when the client went away before the reply was complete (abort, timeout). */
  clientClosedEarly: boolean;
}

export interface FakeLlmServerOptions {
  /** Answers when the queue is empty. */
  handler?: FakeHandler;
}

/** Builders for the common replies. */
export const fakeReply = {
  /** A text answer; `chunks` splits it into that many streamed pieces. */
  text(text: string, options: Partial<FakeCompletion> & { chunks?: number } = {}): FakeCompletion {
    const { chunks, ...rest } = options;
    return { ...rest, text: chunks && chunks > 1 ? splitText(text, chunks) : text };
  },
  /** One tool call (arguments as an object, or a raw string such as invalid JSON). */
  toolCall(
    name: string,
    args: Record<string, unknown> | string = {},
    options: Partial<FakeCompletion> = {},
  ): FakeCompletion {
    return { ...options, toolCalls: [{ name, arguments: args }] };
  },
  /** Several tool calls in one answer. */
  toolCalls(calls: FakeToolCall[], options: Partial<FakeCompletion> = {}): FakeCompletion {
    return { ...options, toolCalls: calls };
  },
  error(
    status: number,
    message?: string,
    options: Omit<FakeHttpError, 'kind' | 'status' | 'message'> = {},
  ): FakeHttpError {
    return { kind: 'error', status, message, ...options };
  },
  /** 429 with `Retry-After: <seconds>` (or `retry-after-ms` when `unit: 'ms'`). */
  rateLimited(after: number, unit: 's' | 'ms' = 's'): FakeHttpError {
    return {
      kind: 'error',
      status: 429,
      message: 'Rate limit reached. Please try again later.',
      code: 'rate_limit_exceeded',
      headers:
        unit === 's' ? { 'Retry-After': String(after) } : { 'retry-after-ms': String(after) },
    };
  },
  /** 400 worded like OpenAI's and Anthropic's context-too-long errors. */
  contextTooLong(): FakeHttpError {
    return {
      kind: 'error',
      status: 400,
      code: 'context_length_exceeded',
      message:
        "This model's maximum context length is 128000 tokens. However, your messages resulted in " +
        '130512 tokens. Please reduce the length of the messages. (prompt is too long: 130512 tokens > 128000 maximum)',
    };
  },
  hang(): FakeHang {
    return { kind: 'hang' };
  },
  drop(delayMs?: number): FakeDrop {
    return { kind: 'drop', delayMs };
  },
};

/** Splits `text` into `parts` pieces of nearly equal length (never empty ones). */
export function splitText(text: string, parts: number): string[] {
  const n = Math.max(1, Math.min(parts, text.length));
  const size = Math.ceil(text.length / n);
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [text];
}

export class FakeLlmServer {
  /** Everything received, in order. */
  readonly requests: FakeLlmRequest[] = [];
  private readonly queue: FakeReply[] = [];
  private handler: FakeHandler | null;
  private readonly waiters: { count: number; resolve: () => void }[] = [];
  private callCounter = 0;

  private constructor(
    private readonly server: Server,
    private readonly port: number,
    options: FakeLlmServerOptions,
  ) {
    this.handler = options.handler ?? null;
  }

  static async start(options: FakeLlmServerOptions = {}): Promise<FakeLlmServer> {
    let self: FakeLlmServer | null = null;
    const server = createServer((req, res) => {
      self?.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    self = new FakeLlmServer(server, (server.address() as AddressInfo).port, options);
    return self;
  }

  /** `http://127.0.0.1:PORT/v1`: the base URL for the OpenAI protocol (and Anthropic's too). */
  get url(): string {
    return `${this.origin}/v1`;
  }

  /** `http://127.0.0.1:PORT`: a base URL without `/v1` (Anthropic and Ollama style). */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replies not consumed yet. */
  get pending(): number {
    return this.queue.length;
  }

  get lastRequest(): FakeLlmRequest | undefined {
    return this.requests.at(-1);
  }

  enqueue(...replies: FakeReply[]): this {
    this.queue.push(...replies);
    return this;
  }

  /** Answers requests that find the queue empty; `null` removes it. */
  setHandler(handler: FakeHandler | null): this {
    this.handler = handler;
    return this;
  }

  /** Resolves once `count` requests in total have arrived. */
  waitForRequests(count: number, timeoutMs = 5_000): Promise<FakeLlmRequest[]> {
    if (this.requests.length >= count) return Promise.resolve(this.requests.slice());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new Error(`fake LLM: ${this.requests.length}/${count} requests after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.requests.slice());
        },
      });
    });
  }

  /** Forgets the queue, the handler and the recorded requests. */
  reset(): void {
    this.queue.length = 0;
    this.requests.length = 0;
    this.handler = null;
    this.callCounter = 0;
  }

  /** Stops listening and cuts every open connection (hanging requests included). */
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const path = url.pathname.replace(/\/+$/, '');
    const raw = await readBody(req);
    if (req.method === 'GET' && path.endsWith('/models')) {
      sendJson(res, 200, {
        object: 'list',
        data: [{ id: 'fake-model', object: 'model', created: 0, owned_by: 'fake' }],
      });
      return;
    }
    const protocol: FakeProtocol | null =
      req.method !== 'POST'
        ? null
        : path.endsWith('/chat/completions')
          ? 'openai'
          : path.endsWith('/messages')
            ? 'anthropic'
            : null;
    if (!protocol) {
      sendJson(res, 404, {
        error: { message: `fake LLM: no route ${req.method} ${path}`, type: 'not_found' },
      });
      return;
    }
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(raw || '{}');
      body = isRecord(parsed) ? parsed : {};
    } catch {
      sendError(res, protocol, {
        kind: 'error',
        status: 400,
        message: 'fake LLM: body is not JSON',
      });
      return;
    }

    const request = digest(this.requests.length, protocol, req, path, url, body);
    this.requests.push(request);
    for (const waiter of this.waiters.slice()) {
      if (this.requests.length >= waiter.count) {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
    res.on('close', () => {
      if (!res.writableEnded && !killed.has(res)) request.clientClosedEarly = true;
    });

    const reply =
      this.queue.shift() ??
      (this.handler
        ? await this.handler(request)
        : fakeReply.error(
            400,
            `fake LLM: no reply scripted for request #${request.index} (queue empty, no handler)`,
          ));
    await this.respond(request, reply, res);
  }

  private async respond(request: FakeLlmRequest, reply: FakeReply, res: ServerResponse) {
    const live = () => !res.destroyed && !res.writableEnded;
    switch (reply.kind) {
      case 'hang':
        return; // the request stays open until the client (or close()) ends it
      case 'drop':
        await pause(reply.delayMs ?? 0, res);
        kill(res);
        return;
      case 'error':
        await pause(reply.delayMs ?? 0, res);
        if (live()) sendError(res, request.protocol, reply);
        return;
      case 'completion':
      case undefined:
        break;
    }
    await pause(reply.delayMs ?? 0, res);
    if (!live()) return;
    const message = this.materialize(request, reply);
    if (request.stream) {
      await this.stream(request, reply, message, res);
    } else if (reply.failAfterChunks !== undefined) {
      const json = JSON.stringify(render(request.protocol, message));
      res.writeHead(200, { 'content-type': 'application/json', ...reply.headers });
      await write(res, json.slice(0, Math.floor(json.length / 2)));
      await pause(10, res);
      kill(res);
    } else {
      if (reply.pauseAfterChunks !== undefined) await pause(reply.pauseMs ?? 2 ** 31 - 1, res);
      if (live()) sendJson(res, 200, render(request.protocol, message), reply.headers);
    }
  }

  private materialize(request: FakeLlmRequest, reply: FakeCompletion): Message {
    const pieces = (value: string | string[] | undefined) =>
      value === undefined ? [] : Array.isArray(value) ? value : value === '' ? [] : [value];
    const text = pieces(reply.text);
    const reasoning = pieces(reply.reasoning);
    const toolCalls = (reply.toolCalls ?? []).map((call) => {
      this.callCounter += 1;
      return {
        id:
          call.id ??
          (request.protocol === 'openai' ? 'call_' : 'toolu_') + String(this.callCounter),
        name: call.name,
        arguments:
          typeof call.arguments === 'string'
            ? call.arguments
            : JSON.stringify(call.arguments ?? {}),
      };
    });
    const output =
      text.join('') + reasoning.join('') + toolCalls.map((c) => c.name + c.arguments).join('');
    const usage = reply.usage ?? {};
    return {
      id: `${request.protocol === 'openai' ? 'chatcmpl' : 'msg'}_fake${request.index}`,
      model: reply.model ?? request.model,
      text,
      reasoning,
      toolCalls,
      finishReason: reply.finishReason ?? (toolCalls.length ? 'tool_calls' : 'stop'),
      usage: {
        promptTokens:
          usage.promptTokens ??
          Math.ceil(JSON.stringify([request.system, request.messages]).length / 4),
        completionTokens: usage.completionTokens ?? Math.max(1, Math.ceil(output.length / 4)),
        cacheReadTokens: usage.cacheReadTokens ?? 0,
        cacheWriteTokens: usage.cacheWriteTokens ?? 0,
        reasoningTokens: usage.reasoningTokens ?? 0,
      },
      created: Math.floor(Date.now() / 1000),
    };
  }

  private async stream(
    request: FakeLlmRequest,
    reply: FakeCompletion,
    message: Message,
    res: ServerResponse,
  ): Promise<void> {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      ...reply.headers,
    });
    const events = streamEvents(request, message);
    let deltas = 0;
    for (const event of events) {
      if (res.destroyed || res.writableEnded) return;
      if (event.delta) {
        if (reply.failAfterChunks !== undefined && deltas >= reply.failAfterChunks) {
          kill(res);
          return;
        }
        if (reply.pauseAfterChunks !== undefined && deltas === reply.pauseAfterChunks) {
          await pause(reply.pauseMs ?? 2 ** 31 - 1, res);
          if (res.destroyed) return;
        }
        await pause(reply.chunkDelayMs ?? 0, res);
        if (res.destroyed) return;
        deltas += 1;
      }
      await write(res, event.data);
    }
    if (reply.failAfterChunks !== undefined && deltas >= reply.failAfterChunks) {
      kill(res);
      return;
    }
    res.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Message {
  id: string;
  model: string;
  text: string[];
  reasoning: string[];
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: FakeFinishReason;
  usage: Required<FakeUsage>;
  created: number;
}

interface StreamEvent {
  /** Counts as a content chunk (for pauses and failures). */
  delta: boolean;
  data: string;
}

const ANTHROPIC_STOP: Record<FakeFinishReason, string> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  length: 'max_tokens',
  content_filter: 'refusal',
};

function render(protocol: FakeProtocol, m: Message): Record<string, unknown> {
  return protocol === 'openai' ? renderOpenAi(m) : renderAnthropic(m);
}

function openAiUsage(m: Message) {
  const u = m.usage;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: {
      cached_tokens: u.cacheReadTokens,
      ...(u.cacheWriteTokens ? { cache_write_tokens: u.cacheWriteTokens } : {}),
    },
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

function anthropicUsage(m: Message) {
  const u = m.usage;
  return {
    input_tokens: Math.max(0, u.promptTokens - u.cacheReadTokens - u.cacheWriteTokens),
    output_tokens: u.completionTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cacheReadTokens,
  };
}

function renderOpenAi(m: Message): Record<string, unknown> {
  const text = m.text.join('');
  const reasoning = m.reasoning.join('');
  return {
    id: m.id,
    object: 'chat.completion',
    created: m.created,
    model: m.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text || null,
          ...(reasoning ? { reasoning_content: reasoning } : {}),
          ...(m.toolCalls.length
            ? {
                tool_calls: m.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: m.finishReason,
      },
    ],
    usage: openAiUsage(m),
  };
}

function renderAnthropic(m: Message): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (m.reasoning.length)
    content.push({ type: 'thinking', thinking: m.reasoning.join(''), signature: 'fake-signature' });
  if (m.text.length) content.push({ type: 'text', text: m.text.join('') });
  for (const c of m.toolCalls) {
    // The real API always sends an object; a raw string that is not JSON is passed on as a string.
    content.push({ type: 'tool_use', id: c.id, name: c.name, input: parseOr(c.arguments) });
  }
  return {
    id: m.id,
    type: 'message',
    role: 'assistant',
    model: m.model,
    content,
    stop_reason: ANTHROPIC_STOP[m.finishReason],
    stop_sequence: null,
    usage: anthropicUsage(m),
  };
}

function streamEvents(request: FakeLlmRequest, m: Message): StreamEvent[] {
  return request.protocol === 'openai' ? openAiEvents(m, request.includeUsage) : anthropicEvents(m);
}

function openAiEvents(m: Message, includeUsage: boolean): StreamEvent[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id: m.id,
      object: 'chat.completion.chunk',
      created: m.created,
      model: m.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
  const events: StreamEvent[] = [{ delta: false, data: chunk({ role: 'assistant', content: '' }) }];
  for (const piece of m.reasoning)
    events.push({ delta: true, data: chunk({ reasoning_content: piece }) });
  for (const piece of m.text) events.push({ delta: true, data: chunk({ content: piece }) });
  m.toolCalls.forEach((call, index) => {
    events.push({
      delta: false,
      data: chunk({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
        ],
      }),
    });
    for (const piece of splitText(call.arguments, 2)) {
      events.push({
        delta: true,
        data: chunk({ tool_calls: [{ index, function: { arguments: piece } }] }),
      });
    }
  });
  events.push({ delta: false, data: chunk({}, m.finishReason) });
  if (includeUsage) {
    events.push({
      delta: false,
      data: `data: ${JSON.stringify({
        id: m.id,
        object: 'chat.completion.chunk',
        created: m.created,
        model: m.model,
        system_fingerprint: null,
        choices: [],
        usage: openAiUsage(m),
      })}\n\n`,
    });
  }
  events.push({ delta: false, data: 'data: [DONE]\n\n' });
  return events;
}

function anthropicEvents(m: Message): StreamEvent[] {
  const sse = (type: string, payload: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...payload })}\n\n`;
  const usage = anthropicUsage(m);
  const events: StreamEvent[] = [
    {
      delta: false,
      data: sse('message_start', {
        message: {
          id: m.id,
          type: 'message',
          role: 'assistant',
          model: m.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { ...usage, output_tokens: 1 },
        },
      }),
    },
    { delta: false, data: sse('ping', {}) },
  ];
  let index = 0;
  if (m.reasoning.length) {
    events.push({
      delta: false,
      data: sse('content_block_start', {
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      }),
    });
    for (const piece of m.reasoning) {
      events.push({
        delta: true,
        data: sse('content_block_delta', {
          index,
          delta: { type: 'thinking_delta', thinking: piece },
        }),
      });
    }
    events.push({
      delta: false,
      data: sse('content_block_delta', {
        index,
        delta: { type: 'signature_delta', signature: 'fake-signature' },
      }),
    });
    events.push({ delta: false, data: sse('content_block_stop', { index }) });
    index += 1;
  }
  if (m.text.length) {
    events.push({
      delta: false,
      data: sse('content_block_start', { index, content_block: { type: 'text', text: '' } }),
    });
    for (const piece of m.text) {
      events.push({
        delta: true,
        data: sse('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }),
      });
    }
    events.push({ delta: false, data: sse('content_block_stop', { index }) });
    index += 1;
  }
  for (const call of m.toolCalls) {
    events.push({
      delta: false,
      data: sse('content_block_start', {
        index,
        content_block: { type: 'tool_use', id: call.id, name: call.name, input: {} },
      }),
    });
    for (const piece of splitText(call.arguments, 2)) {
      events.push({
        delta: true,
        data: sse('content_block_delta', {
          index,
          delta: { type: 'input_json_delta', partial_json: piece },
        }),
      });
    }
    events.push({ delta: false, data: sse('content_block_stop', { index }) });
    index += 1;
  }
  events.push({
    delta: false,
    data: sse('message_delta', {
      delta: { stop_reason: ANTHROPIC_STOP[m.finishReason], stop_sequence: null },
      usage: { output_tokens: m.usage.completionTokens },
    }),
  });
  events.push({ delta: false, data: sse('message_stop', {}) });
  return events;
}

const ANTHROPIC_ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function sendError(res: ServerResponse, protocol: FakeProtocol, reply: FakeHttpError): void {
  const message = reply.message ?? `fake LLM error ${reply.status}`;
  const headers = reply.headers ?? {};
  if (reply.body !== undefined) {
    const raw = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...headers });
    res.end(raw);
    return;
  }
  const type =
    ANTHROPIC_ERROR_TYPES[reply.status] ??
    (reply.status >= 500 ? 'api_error' : 'invalid_request_error');
  const body =
    protocol === 'openai'
      ? { error: { message, type, param: null, code: reply.code ?? null } }
      : { type: 'error', error: { type, message } };
  sendJson(res, reply.status, body, headers);
}

// ---------------------------------------------------------------------------------------------
// Request digestion

function digest(
  index: number,
  protocol: FakeProtocol,
  req: IncomingMessage,
  path: string,
  url: URL,
  body: Record<string, unknown>,
): FakeLlmRequest {
  const all = Array.isArray(body.messages) ? body.messages.filter(isRecord) : [];
  const streamOptions = isRecord(body.stream_options) ? body.stream_options : {};
  const tools = Array.isArray(body.tools) ? body.tools.filter(isRecord) : [];
  const base = {
    index,
    protocol,
    method: req.method ?? 'POST',
    path,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    body,
    stream: body.stream === true,
    includeUsage: streamOptions.include_usage === true,
    model: typeof body.model === 'string' ? body.model : '',
    clientClosedEarly: false,
  };
  if (protocol === 'openai') {
    const isSystem = (m: Record<string, unknown>) => m.role === 'system' || m.role === 'developer';
    const lastUser = all.filter((m) => m.role === 'user').at(-1);
    return {
      ...base,
      system: all
        .filter(isSystem)
        .map((m) => textOf(m.content))
        .join('\n\n'),
      messages: all.filter((m) => !isSystem(m)),
      lastUserText: lastUser ? textOf(lastUser.content) : '',
      toolResults: all
        .filter((m) => m.role === 'tool')
        .map((m) => ({ id: str(m.tool_call_id), content: textOf(m.content) })),
      toolNames: tools.map((t) => (isRecord(t.function) ? str(t.function.name) : '')),
    };
  }
  const blocks = (m: Record<string, unknown>) =>
    Array.isArray(m.content) ? m.content.filter(isRecord) : [];
  const userTexts = all
    .filter((m) => m.role === 'user')
    .map((m) =>
      typeof m.content === 'string'
        ? m.content
        : blocks(m)
            .filter((b) => b.type === 'text')
            .map((b) => str(b.text))
            .join('\n'),
    )
    .filter((text) => text !== '');
  return {
    ...base,
    system: textOf(body.system),
    messages: all,
    lastUserText: userTexts.at(-1) ?? '',
    toolResults: all.flatMap((m) =>
      blocks(m)
        .filter((b) => b.type === 'tool_result')
        .map((b) => ({ id: str(b.tool_use_id), content: textOf(b.content) })),
    ),
    toolNames: tools.map((t) => str(t.name)),
  };
}

/** Text of a string or of content parts / blocks. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .filter(isRecord)
    .map((part) => (typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n\n');
}

// ---------------------------------------------------------------------------------------------
// Plumbing

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const str = (value: unknown): string => (typeof value === 'string' ? value : '');

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Responses the fake cut off on purpose (not the client's doing). */
const killed = new WeakSet<ServerResponse>();

function kill(res: ServerResponse): void {
  killed.add(res);
  res.socket?.destroy();
}

/** Writes and waits until the chunk is handed to the OS, so a later destroy cannot swallow it. */
function write(res: ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    res.write(data, () => resolve());
  });
}

/** Waits `ms`, or less if the connection closes first. */
function pause(ms: number, res: ServerResponse): Promise<void> {
  if (ms <= 0 || res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on('close', done);
  });
}
