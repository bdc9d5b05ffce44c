import {
  type Attributes,
  type AttributeValue,
  type Span,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { currentObservability, type Observability } from './observability-headers';

/**
 * Spans of the service's own work (a turn, an LLM step, a tool call), following the OpenTelemetry
 * GenAI semantic conventions. Without `OTEL_EXPORTER_OTLP_ENDPOINT` no SDK is started and the API
 * hands out no-op spans: the calls below then cost next to nothing.
 */
const tracer = () => trace.getTracer('agent-gateway');

let captureContent = false;
let shutdown: (() => Promise<void>) | null = null;

/** How the started SDK is stopped (set by start-tracing.ts, which is loaded only when tracing is on). */
export function setTracingShutdown(fn: () => Promise<void>): void {
  shutdown = fn;
}

/** Sends the spans still buffered, then stops tracing (at shutdown); nothing when it is off. */
export async function stopTracing(): Promise<void> {
  const stop = shutdown;
  shutdown = null;
  await stop?.().catch(() => undefined);
}

/** Prompt and completion text go into spans only when the operator opts in (`OH_OTEL_CAPTURE_CONTENT`). */
export function setContentCapture(enabled: boolean): void {
  captureContent = enabled;
}

export const capturesContent = (): boolean => captureContent;

/** `gen_ai.*.messages` as the conventions spell them, when content capture is on. */
export function messagesAttribute(
  role: 'user' | 'assistant',
  text: string,
): AttributeValue | undefined {
  return captureContent
    ? JSON.stringify([{ role, parts: [{ type: 'text', content: text }] }])
    : undefined;
}

/** The attributes the request's observability headers carry into its spans. */
export function observabilityAttributes(
  o: Observability | undefined = currentObservability(),
): Attributes {
  if (!o) return {};
  const attributes: Attributes = {};
  if (o.spanName) attributes['openhands.observability.span_name'] = o.spanName;
  if (o.tags.length) attributes['openhands.observability.tags'] = o.tags;
  for (const [key, value] of Object.entries(o.metadata))
    attributes[`openhands.observability.metadata.${key}`] = value;
  return attributes;
}

/**
 * Runs `fn` in a new active span (so spans it starts are children), ends the span when it
 * settles; a throw marks it as an error. `done` adds attributes from the result.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  done?: (span: Span, result: T) => void,
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes: clean(attributes) }, async (span) => {
    try {
      const result = await fn(span);
      done?.(span, result);
      return result;
    } catch (err) {
      failed(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span the caller ends (for work that is not one promise, such as a stream). */
export function startSpan(name: string, attributes: Attributes): Span {
  return tracer().startSpan(name, { attributes: clean(attributes) });
}

export function failed(span: Span, err: unknown): void {
  const error = err instanceof Error ? err : new Error(String(err));
  span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  const type = (error as { code?: unknown }).code;
  span.setAttribute('error.type', typeof type === 'string' ? type : error.name);
}

/** Attributes without the `undefined` ones. */
export function clean(attributes: Record<string, AttributeValue | undefined>): Attributes {
  return Object.fromEntries(
    Object.entries(attributes).filter(
      (entry): entry is [string, AttributeValue] => entry[1] !== undefined,
    ),
  );
}
