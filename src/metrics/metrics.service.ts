import { Injectable } from '@nestjs/common';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type MetricObjectWithValues,
  type MetricValue,
} from 'prom-client';
import type { TokenUsage } from '../conversations/usage.types';

const TOKEN_TYPES = [
  ['prompt', 'promptTokens'],
  ['completion', 'completionTokens'],
  ['cache_read', 'cacheReadTokens'],
  ['cache_write', 'cacheWriteTokens'],
  ['reasoning', 'reasoningTokens'],
] as const satisfies readonly (readonly [string, keyof TokenUsage])[];

/** Seconds: from a few ms of gateway overhead to turns that run for many minutes. */
const TURN_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 900];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/**
 * What the service does, as Prometheus metrics (`GET /metrics`). Other modules report through the
 * small calls below; this module depends on none of them. One registry per application instance.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by route template and status, with their duration (a stream: its whole length).',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });
  private readonly disconnects = new Counter({
    name: 'gateway_client_disconnects_total',
    help: 'Requests whose client went away before the response was complete.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });
  private readonly keepalives = new Counter({
    name: 'gateway_sse_keepalives_total',
    help: 'Keepalive comments sent on silent streams.',
    registers: [this.registry],
  });
  private readonly turnDuration = new Histogram({
    name: 'gateway_turn_duration_seconds',
    help: 'Agent turns by outcome (finish, stop, length, stuck, cancelled, timeout, error), with their duration.',
    labelNames: ['outcome'] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  private readonly activeTurns = new Gauge({
    name: 'gateway_turns_active',
    help: 'Agent turns running in this process.',
    registers: [this.registry],
  });
  private readonly llmDuration = new Histogram({
    name: 'gateway_llm_call_duration_seconds',
    help: 'Successful LLM calls by profile, with their duration.',
    labelNames: ['profile'] as const,
    buckets: TURN_BUCKETS,
    registers: [this.registry],
  });
  private readonly llmTokens = new Counter({
    name: 'gateway_llm_tokens_total',
    help: 'LLM tokens by profile and type (prompt, completion, cache_read, cache_write, reasoning).',
    labelNames: ['profile', 'type'] as const,
    registers: [this.registry],
  });
  private readonly llmCost = new Counter({
    name: 'gateway_llm_cost_usd_total',
    help: 'LLM cost in USD by profile (0 for models without a known price).',
    labelNames: ['profile'] as const,
    registers: [this.registry],
  });
  private readonly llmErrors = new Counter({
    name: 'gateway_llm_errors_total',
    help: 'Failed LLM attempts by profile and category (rate_limit, timeout, connection, …); retried: whether another attempt followed.',
    labelNames: ['profile', 'category', 'retried'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  httpRequest(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  clientDisconnected(route: string): void {
    this.disconnects.inc({ route });
  }

  keepalive(): void {
    this.keepalives.inc();
  }

  /** A turn began; call the returned function once with its outcome when it has ended. */
  turnStarted(): (outcome: string) => void {
    const end = this.turnDuration.startTimer();
    this.activeTurns.inc();
    let ended = false;
    return (outcome) => {
      if (ended) return;
      ended = true;
      this.activeTurns.dec();
      end({ outcome });
    };
  }

  llmCall(profile: string, tokens: TokenUsage, costUsd: number, latencyMs: number): void {
    this.llmDuration.observe({ profile }, latencyMs / 1000);
    for (const [type, field] of TOKEN_TYPES) {
      if (tokens[field] > 0) this.llmTokens.inc({ profile, type }, tokens[field]);
    }
    if (costUsd > 0) this.llmCost.inc({ profile }, costUsd);
    else this.llmCost.inc({ profile }, 0); // the series exists from the first call
  }

  llmError(profile: string, category: string, retried: boolean): void {
    this.llmErrors.inc({ profile, category, retried: String(retried) });
  }

  /** The Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The same, as JSON: one object per metric with its values. */
  json(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
    return this.registry.getMetricsAsJSON();
  }
}
