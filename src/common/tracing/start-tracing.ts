import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import type { AppEnv } from '../../config/load-env';
import { setContentCapture, setTracingShutdown } from './spans';

/** Probes and scrapes would be most of the spans and tell nothing. */
const UNTRACED = new Set(['/alive', '/health', '/ready', '/metrics']);

/**
 * Starts OpenTelemetry tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `…_TRACES_ENDPOINT`) is set:
 * a span per HTTP request (W3C `traceparent` from the client continues its trace), and the
 * service's own spans (turns, LLM steps, tool calls) below it, exported over OTLP/HTTP. Must run
 * before `http` is first used (main.ts imports `./register-tracing` first, which loads this module
only when tracing is on, so a start without it pays nothing for the SDK). Traces only: the
 * service's metrics are on `GET /metrics`.
 */
export function startTracing(env: AppEnv): void {
  const url = tracesUrl(env);
  if (!url) return;
  setContentCapture(env.OH_OTEL_CAPTURE_CONTENT);
  const options = { url, headers: exportHeaders(env.OTEL_EXPORTER_OTLP_HEADERS) };
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME,
    traceExporter:
      env.OTEL_EXPORTER_OTLP_PROTOCOL === 'http/json'
        ? new OtlpJsonExporter(options)
        : new OtlpProtobufExporter(options),
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.has((req.url ?? '').split('?')[0]),
      }),
    ],
  });
  sdk.start();
  setTracingShutdown(() => sdk.shutdown());
}

/** Where spans go, `undefined` when tracing is off. */
export function tracesUrl(env: AppEnv): string | undefined {
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined);
}

/** `key=value,key2=value2` with URL-encoded values, as OTEL_EXPORTER_OTLP_HEADERS spells them. */
export function exportHeaders(text: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}
