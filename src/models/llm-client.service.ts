import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { type LanguageModelUsage, type ProviderMetadata } from 'ai';
import type { TokenUsage } from '../conversations/usage.types';
import { MetricsService } from '../metrics/metrics.service';
import { bindingOf, type ProviderBinding } from './language-model.factory';
import { classifyLlmError, LlmCallError } from './llm-errors';
import { type StepPart, type StepSettings, streamModelStep } from './model-step';
import type {
  LlmReasoningPart,
  LlmRequest,
  LlmStepResult,
  LlmStreamPart,
  LlmToolCall,
} from './llm.types';
import { priceCall } from './pricing';
import { clean, failed, messagesAttribute, startSpan } from '../common/tracing/spans';
import { parseModelName } from '../profiles/profiles.service';

/** The error an LLM call fails with (`category` says why), for the modules that call the client. */
export { LlmCallError } from './llm-errors';

export interface LlmClientOptions {
  /** The first retry waits about this long (with jitter); each further one twice as long. */
  backoffBaseMs: number;
  /** Upper bound of one backoff wait. */
  backoffMaxMs: number;
  /** The longest `Retry-After` honoured; a provider asking for more fails the call at once. */
  maxRetryAfterMs: number;
  /** A retry is only made when at least this much time is left before the deadline after the wait. */
  minAttemptMs: number;
  /** Random source for the jitter, in [0, 1). */
  random: () => number;
}

export const LLM_CLIENT_OPTIONS = Symbol('LLM_CLIENT_OPTIONS');

const DEFAULT_OPTIONS: LlmClientOptions = {
  backoffBaseMs: 2_000,
  backoffMaxMs: 30_000,
  maxRetryAfterMs: 60_000,
  minAttemptMs: 1_000,
  random: Math.random,
};

let warningsSilenced = false;

/**
 * Calls the LLM of a resolved profile, one model step per call: tools are declared, never executed
 * here. Retries what is worth retrying (connection errors, 429, 5xx, timeouts, empty answers) with
 * exponential backoff and jitter, honouring `Retry-After`, as long as nothing was streamed to the
 * caller yet and the retry fits the deadline. Every failure leaves as a classified, redacted
 * `LlmCallError`, except a cancellation, which rethrows the signal's reason at once.
 *
 * `firstByteTimeoutMs` of the model bounds the wait for the response to start, `timeoutMs` every
 * silence between two parts of it (like an HTTP read timeout), not the length of a long answer;
 * an attempt that timed out is retried at most `timeoutRetries` times (default once).
 */
@Injectable()
export class LlmClient {
  private readonly logger = new Logger(LlmClient.name);
  private readonly options: LlmClientOptions;

  constructor(
    @Optional() @Inject(LLM_CLIENT_OPTIONS) options?: Partial<LlmClientOptions>,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    if (!warningsSilenced) {
      globalThis.AI_SDK_LOG_WARNINGS = false; // unsupported-setting warnings are expected noise
      warningsSilenced = true;
    }
  }

  /**
   * One model step, streamed: `text-delta`/`reasoning-delta` as they arrive, a `retry` before each
   * wait, then exactly one `finish` with the step's result. Throws `LlmCallError`, or the signal's
   * reason when aborted.
   */
  /** One LLM step, in a `chat` span (GenAI conventions) around all of its attempts. */
  async *stream(request: LlmRequest): AsyncGenerator<LlmStreamPart, void, undefined> {
    const { model, overrides } = request;
    const parsed = parseModelName(model.model);
    const span = startSpan(`chat ${parsed?.modelId ?? model.model}`, {
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': parsed?.provider,
      'gen_ai.request.model': parsed?.modelId ?? model.model,
      'gen_ai.request.temperature': overrides?.temperature ?? model.config.temperature ?? undefined,
      'gen_ai.request.top_p': overrides?.topP ?? model.config.top_p ?? undefined,
      'gen_ai.request.max_tokens':
        overrides?.maxOutputTokens ?? model.config.max_output_tokens ?? undefined,
      'openhands.profile': model.profileName,
    });
    try {
      for await (const part of this.attempts(request)) {
        if (part.type === 'retry') span.addEvent('retry', { attempt: part.attempt });
        if (part.type === 'finish') {
          const { result } = part;
          span.setAttributes(
            clean({
              'gen_ai.response.model': result.responseModel,
              'gen_ai.response.finish_reasons': [result.finishReason],
              'gen_ai.usage.input_tokens': result.usage.promptTokens,
              'gen_ai.usage.output_tokens': result.usage.completionTokens,
              'gen_ai.usage.cache_read.input_tokens': result.usage.cacheReadTokens || undefined,
              'openhands.cost_usd': result.costUsd,
              'gen_ai.output.messages': messagesAttribute('assistant', result.text),
            }),
          );
        }
        yield part;
      }
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  }

  private async *attempts(request: LlmRequest): AsyncGenerator<LlmStreamPart, void, undefined> {
    const { model, signal } = request;
    let attempt = 0;
    let timeouts = 0;
    for (;;) {
      signal.throwIfAborted();
      if (request.deadline !== undefined && Date.now() >= request.deadline) {
        throw new LlmCallError('timeout', {
          model: model.model,
          providerMessage: 'the time budget of the turn ran out before the call could start',
          retryable: false,
          attempts: attempt,
        });
      }
      const progress = { emitted: false };
      try {
        yield* this.attempt(request, attempt + 1, progress);
        return;
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        const failure = classifyLlmError(error, { model: model.model, secrets: model.secrets });
        if (failure.category === 'timeout') timeouts++;
        const delayMs =
          failure.category === 'timeout' && timeouts > (model.timeoutRetries ?? 1)
            ? null
            : this.retryDelay(failure, attempt, request, progress.emitted);
        this.metrics?.llmError(model.profileName, failure.category, delayMs !== null);
        if (delayMs === null) throw failure.withAttempts(attempt + 1);
        attempt += 1;
        this.logger.warn(
          `${model.gatewayModel}: attempt ${attempt} failed, retry ${attempt}/${model.maxRetries} in ${delayMs} ms: ${failure.message}`,
        );
        yield { type: 'retry', attempt, delayMs, reason: failure.message };
        await sleep(delayMs, signal);
      }
    }
  }

  /** The same step without streaming to the caller (condensation summaries, titles). */
  async complete(request: LlmRequest): Promise<LlmStepResult> {
    for await (const part of this.stream(request)) {
      if (part.type === 'finish') return part.result;
    }
    throw new LlmCallError('empty_response', {
      model: request.model.model,
      providerMessage: 'the call ended without a result',
      retryable: false,
    });
  }

  /** The wait before the next attempt, or `null` when this failure is final. */
  private retryDelay(
    failure: LlmCallError,
    attempt: number,
    request: LlmRequest,
    emitted: boolean,
  ): number | null {
    if (emitted || !failure.retryable || attempt >= request.model.maxRetries) return null;
    const { backoffBaseMs, backoffMaxMs, maxRetryAfterMs, minAttemptMs, random } = this.options;
    let delay: number;
    if (failure.retryAfterMs !== undefined) {
      if (failure.retryAfterMs > maxRetryAfterMs) return null;
      delay = Math.ceil(failure.retryAfterMs);
    } else {
      const backoff = Math.min(backoffMaxMs, backoffBaseMs * 2 ** attempt);
      delay = Math.round(backoff / 2 + (random() * backoff) / 2);
    }
    if (request.deadline !== undefined && Date.now() + delay + minAttemptMs > request.deadline) {
      return null;
    }
    return delay;
  }

  private async *attempt(
    request: LlmRequest,
    attemptNo: number,
    progress: { emitted: boolean },
  ): AsyncGenerator<LlmStreamPart, void, undefined> {
    const { model, signal } = request;
    const started = Date.now();
    const controller = new AbortController();
    const relay = () => controller.abort(signal.reason);
    signal.addEventListener('abort', relay, { once: true });

    // Two clocks, like an HTTP client's: until the response starts (time to first byte), then
    // between two parts of it (idle). Both stop at the turn's deadline.
    let timer: NodeJS.Timeout | undefined;
    const arm = (limit: number, what: string) => {
      clearTimeout(timer);
      const left = request.deadline === undefined ? Infinity : request.deadline - Date.now();
      const wait = Math.max(0, Math.min(limit, left));
      timer = setTimeout(() => {
        controller.abort(
          new LlmCallError('timeout', {
            model: model.model,
            providerMessage:
              wait < limit
                ? 'the time budget of the turn ran out while waiting for the provider'
                : `${what} for ${wait} ms`,
            retryable: true,
          }),
        );
      }, wait);
    };
    const firstByteMs = model.firstByteTimeoutMs ?? model.timeoutMs;
    const onActivity = () =>
      arm(model.timeoutMs, 'the response stalled: no data from the provider');
    let onAbort: () => void = () => undefined;
    const stopped = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortReason(controller.signal));
      controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    stopped.catch(() => undefined);

    let completed = false;
    let iterator: AsyncIterator<StepPart, void> | undefined;
    try {
      arm(firstByteMs, 'no response from the provider (time to first byte)');
      const settings = stepSettings(request);
      iterator = streamModelStep({
        model: model.languageModel,
        system: request.system || undefined,
        messages: request.messages,
        tools: request.tools,
        toolChoice: request.toolChoice,
        responseFormat: request.responseFormat,
        settings,
        abortSignal: controller.signal,
        onActivity,
        download: passUrlsThrough,
      });

      let text = '';
      const reasoning = new Map<string, LlmReasoningPart>();
      const toolCalls: LlmToolCall[] = [];
      let finish: { usage: LanguageModelUsage; reason: string; modelId: string } | null = null;

      for (;;) {
        const next = iterator.next();
        next.catch(() => undefined);
        const { done, value: part } = await Promise.race([next, stopped]);
        if (done) break;
        if (part.type === 'text-delta') {
          if (part.text) {
            text += part.text;
            progress.emitted = true;
            yield { type: 'text-delta', text: part.text };
          }
        } else if (part.type === 'reasoning-start') {
          reasoning.set(part.id, { text: '', providerOptions: part.providerMetadata });
        } else if (part.type === 'reasoning-delta' || part.type === 'reasoning-end') {
          const block = reasoning.get(part.id) ?? { text: '' };
          block.providerOptions = mergeMetadata(block.providerOptions, part.providerMetadata);
          reasoning.set(part.id, block);
          if (part.type === 'reasoning-delta' && part.text) {
            block.text += part.text;
            progress.emitted = true;
            yield { type: 'reasoning-delta', text: part.text };
          }
        } else if (part.type === 'tool-call') {
          // invalid calls (unknown tool, unparsable JSON) come through too, input parsed or raw
          if (!part.providerExecuted) {
            toolCalls.push({
              id: part.toolCallId,
              name: part.toolName,
              input: part.input,
              ...(part.providerMetadata ? { providerOptions: part.providerMetadata } : {}),
            });
          }
        } else if (part.type === 'finish') {
          finish = { usage: part.usage, reason: part.finishReason, modelId: part.modelId };
        }
      }

      const reasoningParts = [...reasoning.values()].map(({ text: t, providerOptions }) =>
        providerOptions ? { text: t, providerOptions } : { text: t },
      );
      const reasoningText = reasoningParts.map((p) => p.text).join('');
      if (!finish) {
        throw new LlmCallError('connection', {
          model: model.model,
          providerMessage: 'the response stream ended before the answer was complete',
          retryable: true,
        });
      }
      const empty = !text.trim() && !reasoningText.trim() && toolCalls.length === 0;
      if (empty && finish.reason === 'content-filter') {
        throw new LlmCallError('content_policy', {
          model: model.model,
          providerMessage: 'the provider filtered the answer',
          retryable: false,
        });
      }
      if (empty && finish.reason !== 'length') {
        throw new LlmCallError('empty_response', {
          model: model.model,
          providerMessage: `the provider returned no text and no tool call (finish reason '${finish.reason}')`,
          retryable: true,
        });
      }

      const usage = toTokenUsage(finish.usage);
      const cost = priceCall(model.config, usage);
      const latencyMs = Date.now() - started;
      this.metrics?.llmCall(model.profileName, usage, cost.costUsd, latencyMs);
      completed = true;
      yield {
        type: 'finish',
        result: {
          text,
          reasoning: reasoningText,
          toolCalls,
          finishReason: finish.reason,
          usage,
          costUsd: cost.costUsd,
          priced: cost.priced,
          latencyMs,
          responseModel: finish.modelId || model.model,
          reasoningParts,
          attempts: attemptNo,
        },
      };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', relay);
      if (!completed) controller.abort(new Error('LLM attempt abandoned'));
      // undici holds `controller.signal` until a major GC collects the fetch's Request; a
      // listener left on it would keep this request's messages alive (and promoted) that long.
      controller.signal.removeEventListener('abort', onAbort);
      iterator?.return?.().catch(() => undefined);
    }
  }
}

/**
 * Image URLs in messages go to the provider as URLs; the service never fetches them itself, so a
 * request cannot make it reach hosts on its own network (the AI SDK would otherwise download URLs
 * a provider does not take, from here).
 */
const passUrlsThrough = (items: { url: URL }[]) => Promise.resolve(items.map(() => null));

/** Profile settings, overridden by the request's, plus the provider's reasoning options. */
export function stepSettings(request: LlmRequest): StepSettings {
  const { config } = request.model;
  const overrides = request.overrides ?? {};
  const { binding, modelId } = providerOf(config.model);
  const settings: StepSettings = {};
  const temperature = overrides.temperature ?? config.temperature ?? undefined;
  const topP = overrides.topP ?? config.top_p ?? undefined;
  const maxOutputTokens =
    overrides.maxOutputTokens ??
    config.max_output_tokens ??
    binding?.defaultMaxOutputTokens(modelId) ??
    undefined;
  if (temperature !== undefined) settings.temperature = temperature;
  if (topP !== undefined) settings.topP = topP;
  if (maxOutputTokens !== undefined) settings.maxOutputTokens = maxOutputTokens;
  if (overrides.seed !== undefined) settings.seed = overrides.seed;
  if (overrides.stop?.length) settings.stopSequences = overrides.stop;
  if (overrides.frequencyPenalty !== undefined)
    settings.frequencyPenalty = overrides.frequencyPenalty;
  if (overrides.presencePenalty !== undefined) settings.presencePenalty = overrides.presencePenalty;
  const effort = overrides.reasoningEffort ?? config.reasoning_effort;
  if (effort && binding) {
    const providerOptions = binding.reasoning(effort, modelId);
    if (providerOptions && Object.keys(providerOptions).length) {
      settings.providerOptions = providerOptions;
    }
  }
  return settings;
}

/** The provider binding, or none for a name no binding knows (a hand-made model in tests). */
function providerOf(model: string): { binding: ProviderBinding | null; modelId: string } {
  try {
    return bindingOf(model);
  } catch {
    return { binding: null, modelId: model };
  }
}

function toTokenUsage(usage: LanguageModelUsage): TokenUsage {
  return {
    promptTokens: usage.inputTokens ?? 0,
    completionTokens: usage.outputTokens ?? 0,
    cacheReadTokens: usage.inputTokenDetails?.cacheReadTokens ?? 0,
    cacheWriteTokens: usage.inputTokenDetails?.cacheWriteTokens ?? 0,
    reasoningTokens: usage.outputTokenDetails?.reasoningTokens ?? 0,
  };
}

function mergeMetadata(
  a: ProviderMetadata | undefined,
  b: ProviderMetadata | undefined,
): ProviderMetadata | undefined {
  if (!a) return b;
  if (!b) return a;
  const merged: ProviderMetadata = { ...a };
  for (const [provider, values] of Object.entries(b)) {
    merged[provider] = { ...merged[provider], ...values };
  }
  return merged;
}

/** The signal's reason, rethrown as is (the caller's `abort(reason)`; a DOMException by default). */
function abortReason(signal: AbortSignal): Error {
  return signal.reason as Error;
}

/** Waits `ms`; rejects with the signal's reason as soon as it aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
