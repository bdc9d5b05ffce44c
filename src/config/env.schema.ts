import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  Min,
  MinLength,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
/** `1048576`, `512kb`, `10mb`, `1gb` (binary units, case-insensitive) to bytes. */
const toBytes = ({ value }: { value: unknown }) => {
  const match =
    typeof value === 'string' ? /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(value.trim()) : null;
  return match ? Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]) : value;
};
const toNumber = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))
    ? Number(value)
    : value;

const toBool = ({ value }: { value: unknown }) => {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  return ['true', '1', 'yes', 'on'].includes(text as string)
    ? true
    : ['false', '0', 'no', 'off'].includes(text as string)
      ? false
      : value;
};

export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const SANDBOXES = ['none', 'bwrap'] as const;
export type Sandbox = (typeof SANDBOXES)[number];

export const STEP_RENDERINGS = ['reasoning', 'think', 'none'] as const;
export type StepRendering = (typeof STEP_RENDERINGS)[number];

/**
 * Every environment variable the service reads, validated once at boot (`load-env.ts`).
 * Indexed families (`OH_SESSION_API_KEYS_<n>`, `OH_ALLOW_CORS_ORIGINS_<n>`) are collected
 * and checked there too.
 */
export class EnvSchema {
  @IsIn(['development', 'test', 'production'])
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 8000;

  @IsString()
  @MinLength(1)
  HOST = '127.0.0.1';

  /** JSON list of session keys, e.g. `["k1","k2"]`. */
  @IsOptional()
  @IsString()
  OH_SESSION_API_KEYS?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  SESSION_API_KEY?: string;

  @IsOptional()
  @IsString()
  @MinLength(16)
  OH_SECRET_KEY?: string;

  @IsOptional()
  @IsUrl({ protocols: ['postgres', 'postgresql'], require_tld: false, require_protocol: true })
  DATABASE_URL?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  PGLITE_DATA_DIR?: string;

  @IsString()
  @MinLength(1)
  OH_PERSISTENCE_DIR = './data';

  @IsString()
  @MinLength(1)
  OH_WORKSPACE_PATH = './workspace';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  OH_MAX_ITERATIONS = 100;

  @Transform(toNumber)
  @Min(1)
  @Max(86_400)
  OH_TURN_TIMEOUT_S = 900;

  /** Turns (and direct calls) one process runs at once; more get 429 with Retry-After. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  OH_MAX_CONCURRENT_TURNS = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  OH_MAX_PROFILES = 1000;

  /** Largest request body, in bytes or with a unit (`512kb`, `10mb`); larger ones get 413. */
  @Transform(toBytes)
  @IsInt({ message: '$property must be a size: bytes, or a number with kb, mb or gb (e.g. 10mb)' })
  @Min(1024)
  @Max(1024 ** 3)
  OH_MAX_BODY_SIZE = 10 * 1024 ** 2;

  /**
   * Most object keys in one JSON body, at every depth, counted before the body is parsed; more
   * get 413 in milliseconds. Validation cost grows faster than the key count, so this bounds it.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(10_000_000)
  OH_MAX_JSON_KEYS = 20_000;

  /** Most messages in one chat completion request (Azure OpenAI's cap, too); more get 400. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  OH_MAX_MESSAGES = 2048;

  /**
   * Requests per minute per session key (per client address when access is open), sliding
   * window; more get 429 with Retry-After. 0: no limit.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100_000)
  OH_RATE_LIMIT_PER_MINUTE = 0;

  /**
   * Seconds a resolved profile is reused between turns (0: read at every turn). Saves and deletes
   * through this process count at once; another replica's are seen within this time.
   */
  @Transform(toNumber)
  @Min(0)
  @Max(3600)
  OH_PROFILE_CACHE_TTL_S = 1;

  /** Seconds running turns get to finish at shutdown (SIGTERM) before they are cancelled. */
  @Transform(toNumber)
  @Min(0)
  @Max(3600)
  OH_SHUTDOWN_GRACE_S = 30;

  /** PostgreSQL: seconds between sweeps that free turns locked by a process that died. */
  @Transform(toNumber)
  @Min(1)
  @Max(3600)
  OH_RECOVERY_INTERVAL_S = 15;

  /**
   * PostgreSQL: seconds a process's lease lasts without renewal (renewed every quarter of it).
   * Its turns are taken over only after that; it stops them itself when it could not renew in time.
   */
  @Transform(toNumber)
  @Min(1)
  @Max(3600)
  OH_LEASE_TTL_S = 20;

  /**
   * Where the agent's tools run: `bwrap` (a bubblewrap sandbox per conversation), `none` (the
   * sandbox program unconfined). Unset: bwrap when it works here (probed at start); otherwise the
   * service refuses to listen beyond loopback, and on loopback starts unsandboxed with a warning.
   */
  @IsOptional()
  @IsIn(SANDBOXES)
  OH_SANDBOX?: Sandbox;

  /**
   * Which sandbox program runs in each sandbox: `native` (the C program, built by `npm run build`
   * when a C compiler exists), `node` (the Node program), or `auto` (default): native when built.
   */
  @IsIn(['native', 'node', 'auto'])
  OH_SANDBOX_PROGRAM: 'native' | 'node' | 'auto' = 'auto';

  /** Comma-separated names of variables passed into sandboxes besides PATH, HOME, LANG, TERM, TZ. */
  @IsOptional()
  @IsString()
  OH_SANDBOX_ENV?: string;

  /** `on`: sandboxes share the host's network; `off` (default): none, not even loopback. */
  @IsIn(['on', 'off'])
  OH_SANDBOX_NETWORK: 'on' | 'off' = 'off';

  /** When the service runs as root: the unprivileged uid sandboxes run as. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(4_294_967_294)
  OH_SANDBOX_UID = 61000;

  /** When the service runs as root: the gid sandboxes run as. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(4_294_967_294)
  OH_SANDBOX_GID = 61000;

  /** Hard limit per terminal command, in seconds: then it is killed with all it started (0: none). */
  @Transform(toNumber)
  @Min(0)
  @Max(86_400)
  OH_SANDBOX_COMMAND_TIMEOUT_S = 900;

  /** CPU seconds per sandbox process (RLIMIT_CPU via prlimit; 0: no limit). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  OH_SANDBOX_CPU_S = 3600;

  /** Open files per sandbox process (RLIMIT_NOFILE via prlimit; 0: no limit). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_048_576)
  OH_SANDBOX_NOFILE = 4096;

  /** Memory of one sandbox, in MiB, through a cgroup where the host allows one (0: no limit). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_048_576)
  OH_SANDBOX_MEMORY_MB = 2048;

  /** Processes of one sandbox, through a cgroup where the host allows one (0: no limit). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  OH_SANDBOX_PIDS = 512;

  /** Sandboxes alive at once; past it the least recently used idle one is ended. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  OH_MAX_LIVE_SANDBOXES = 64;

  /** Seconds a sandbox may sit unused before its shell and processes end (the workspace stays). */
  @Transform(toNumber)
  @Min(1)
  @Max(86_400)
  OH_SANDBOX_IDLE_S = 900;

  @IsIn(LOG_LEVELS)
  LOG_LEVEL: LogLevel = 'info';

  /** How streamed turns show tool steps when the request does not say (`X-OpenHands-Progress`). */
  @IsIn(STEP_RENDERINGS)
  OH_STEP_RENDERING: StepRendering = 'reasoning';

  /** First backoff of LLM retries in ms (doubles per retry, with jitter; `Retry-After` wins). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(60_000)
  OH_LLM_BACKOFF_MS = 2000;

  /**
   * Seconds one LLM attempt waits for the provider's response to start (time to first byte).
   * A profile's `timeout` replaces this and the idle timeout.
   */
  @Transform(toNumber)
  @Min(0.01)
  @Max(86_400)
  OH_LLM_FIRST_BYTE_TIMEOUT_S = 45;

  /** Seconds of silence allowed between two parts of an LLM response before the attempt fails. */
  @Transform(toNumber)
  @Min(0.01)
  @Max(86_400)
  OH_LLM_IDLE_TIMEOUT_S = 45;

  /** How many times an LLM attempt that timed out is retried (within the profile's `num_retries`). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  OH_LLM_TIMEOUT_RETRIES = 1;

  /**
   * Seconds between the whitespace bytes a non-streamed chat completion sends while its turn runs
   * (status and headers go out at once), so a proxy's read timeout cannot cut it. 0: off.
   */
  @Transform(toNumber)
  @Min(0)
  @Max(3600)
  OH_NONSTREAM_KEEPALIVE_S = 0;

  /**
   * Reverse proxies in front of the service: a hop count (`1`), or addresses and CIDR ranges
   * (`10.0.0.0/8,127.0.0.1`, also `loopback`). Their X-Forwarded-For / -Proto / -Prefix are then
   * believed. Unset: none.
   */
  @IsOptional()
  @Matches(/^(\d+|[0-9a-fA-F:.,/\sa-z]+)$/, {
    message: '$property must be a hop count or a comma-separated list of addresses and CIDR ranges',
  })
  OH_TRUST_PROXY?: string;

  /**
   * Seconds a non-streamed chat completion's turn goes on after its client disconnected without an
   * `Idempotency-Key`, for a retry of the same request to attach to it (re-armed while one waits).
   * 0: a disconnect cancels at once.
   */
  @Transform(toNumber)
  @Min(0)
  @Max(600)
  OH_RETRY_GRACE_S = 15;

  /** Seconds the result of a request sent with an `Idempotency-Key` is kept for its retries. */
  @Transform(toNumber)
  @Min(1)
  @Max(30 * 86_400)
  OH_IDEMPOTENCY_TTL_S = 86_400;

  /** Seconds of silence on a stream before a `: keepalive` comment goes out. */
  @Transform(toNumber)
  @Min(0.01)
  @Max(300)
  OH_KEEPALIVE_S = 15;

  /** OpenTelemetry: base URL of an OTLP/HTTP collector (`/v1/traces` is appended). Unset: no tracing. */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** OpenTelemetry: the full URL traces are sent to (instead of the base URL above). */
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_tld: false, require_protocol: true })
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  /** `http/protobuf` or `http/json`. */
  @IsIn(OTLP_PROTOCOLS)
  OTEL_EXPORTER_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';

  /** Headers of the export requests (`key=value,key2=value2`, values URL-encoded): a collector's token. */
  @IsOptional()
  @Matches(/^\s*[^=,\s]+\s*=[^,]*(,\s*[^=,\s]+\s*=[^,]*)*\s*$/, {
    message: 'OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas',
  })
  OTEL_EXPORTER_OTLP_HEADERS?: string;

  /** The `service.name` of the spans. */
  @IsString()
  @MinLength(1)
  OTEL_SERVICE_NAME = 'agent-gateway';

  /** Put prompt, completion and tool text into spans (`gen_ai.*.messages`, tool arguments and results). */
  @Transform(toBool)
  @IsBoolean()
  OH_OTEL_CAPTURE_CONTENT = false;

  // Accepted and ignored: clients of the reference server set them.
  @IsOptional() @IsString() OH_ENABLE_VNC?: string;
  @IsOptional() @IsString() OH_ENABLE_VSCODE?: string;
  @IsOptional() @IsString() OH_PRELOAD_TOOLS?: string;
  @IsOptional() @IsString() OH_WEBHOOKS?: string;
}
