import type { Distribution } from './stats';

/** What `npm run bench` measures; written to bench/results.json. */
export interface BenchResults {
  startedAt: string;
  durationS: number;
  machine: Machine;
  /** Gateway minus direct, one non-streamed one-step turn (ms). */
  oneStep: Comparison;
  /** Time to the first content byte of a streamed turn (ms). */
  firstContent: Comparison;
  throughput: ThroughputLevel[];
  concurrentStreams: ConcurrentStreams;
  coldStart: ColdStart;
  dbPerTurn: DbPerTurn;
  promptTokens: PromptTokens;
  targets: Target[];
}

export interface Machine {
  cpu: string;
  cores: number;
  ramGiB: number;
  node: string;
  os: string;
  database: string;
  /** 1-minute load average at the start of each phase. */
  load: Record<string, number>;
}

export interface Comparison {
  direct: Distribution;
  gateway: Distribution;
  overheadP50: number;
  overheadP99: number;
}

export interface ThroughputLevel {
  concurrency: number;
  seconds: number;
  gatewayPerS: number;
  directPerS: number;
  errors: number;
  gatewayLatency: Distribution;
}

export interface ConcurrentStreams {
  turns: number;
  llmSeconds: number;
  errors: number;
  errorSamples: string[];
  wallS: number;
  firstContent: Distribution;
  total: Distribution;
  rssBeforeMiB: number;
  peakRssMiB: number;
}

export interface ColdStart {
  /** Restarts on an existing embedded data directory, each a fresh process after the build. */
  restartsMs: number[];
  medianMs: number;
  /** The very first start: the embedded cluster is created (initdb) and migrated. */
  firstEverMs: number;
}

export interface TurnWindow {
  turns: string;
  statements: number;
  rows: number;
  dbMs: number;
  gatewayMsP50: number;
}

export interface DbPerTurn {
  turns: number;
  first: TurnWindow;
  last: TurnWindow;
  early: TurnWindow;
  late: TurnWindow;
  /** late ÷ early, DB time and statements. */
  dbMsRatio: number;
  statementsRatio: number;
  /** Direct replays of the LLM request of turn 1 and of the last turn (p50, ms). */
  directFirstMs: number;
  directLastMs: number;
  /** Statements of one turn (the last), by text. */
  statementsOfLastTurn: Record<string, number>;
}

export interface PromptTokens {
  tokenizer: string;
  system: number;
  tools: number;
  total: number;
  toolNames: string[];
}

export interface Target {
  name: string;
  value: number;
  unit: string;
  limit: number;
  /** `max`: value ≤ limit; `min`: value ≥ limit. */
  kind: 'max' | 'min';
  ok: boolean;
  note?: string;
}
