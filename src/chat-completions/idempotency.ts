import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import { chatConfig } from '../config/chat.config';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** How long after a failure (or its last replay) an identical request without a key gets it again. */
export const RETRY_WINDOW_MS = 60_000;
const POLL_MS = 200;
/** How often a request attached to a turn in flight says it is still waiting (see `Claim.keepFor`). */
const WAITING_BEAT_MS = 1_000;
const MAX_KEY_LENGTH = 255;

/** What a request got: replayed as is to a repeated one. */
export interface StoredResult {
  status: number;
  body: unknown;
  headers: Record<string, string>;
  conversationId: string | null;
}

/** A claim on a request's key: the turn runs here; report its result (or drop the claim). */
export interface Claim {
  kind: 'new';
  /** Whether the client promised to retry with the same key (then a disconnect does not cancel). */
  explicit: boolean;
  finish(result: StoredResult): void;
  /** Forget the claim: the next identical request runs a turn of its own. */
  drop(): void;
  /**
   * The client left before the answer: the turn goes on while a retry of it waits for it (on any
   * replica), re-checked every `graceMs`; once none waits through a whole `graceMs`, `cancel()`.
   */
  keepFor(graceMs: number, cancel: () => void): void;
}

/** The same request already ran or runs: this is its result (awaited when in flight). */
export interface Repeat {
  kind: 'repeat';
  result: Promise<StoredResult>;
  /** The turn is still running: the result comes when it ends. */
  inFlight: boolean;
  /** This request's client left: it no longer waits for the turn (idempotent). */
  leave(): void;
}

export type Admission =
  | Claim
  | Repeat
  /** No key of any kind applies (never happens today; kept for clarity of callers). */
  | { kind: 'none' };

interface Row {
  request_hash: string;
  conversation_id: string | null;
  status: number | null;
  body: unknown;
  headers: Record<string, string> | null;
  recent: boolean;
}

/**
 * Safe retries of `POST /v1/chat/completions`. With an `Idempotency-Key`, a repeated request is
 * attached to the turn in flight or answered with the stored result for OH_IDEMPOTENCY_TTL_S.
 * Without one, a request identical to one in flight (same model, conversation headers and body)
 * is attached to it, and one identical to a request that just failed (within RETRY_WINDOW_MS of
 * the failure or its last replay) gets that failure again, as does any identical request marked
 * as a retry (`x-stainless-retry-count` > 0): a client that ignores `x-should-retry: false` does
 * not run the turn again. Rows live in the database: the retry may reach another replica.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  /** Results of the turns this process runs, by key, for requests attached to them here. */
  private readonly local = new Map<string, Promise<StoredResult>>();
  /** Requests of this process waiting for a turn in flight, by key. */
  private readonly waiting = new Map<string, number>();
  private lastPurge = 0;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(chatConfig.KEY) private readonly config: ConfigType<typeof chatConfig>,
    @Inject(agentConfig.KEY) private readonly agent: ConfigType<typeof agentConfig>,
  ) {}

  async admit(rawBody: unknown, headers: IncomingHttpHeaders, model: string): Promise<Admission> {
    const given = header(headers, IDEMPOTENCY_HEADER.toLowerCase());
    if (given !== undefined && (given.length === 0 || given.length > MAX_KEY_LENGTH)) {
      throw new AppError(
        'invalid',
        'chat.invalid_idempotency_key',
        `${IDEMPOTENCY_HEADER} must be 1 to ${MAX_KEY_LENGTH} characters.`,
        { param: IDEMPOTENCY_HEADER },
      );
    }
    const requestHash = sha256(JSON.stringify(withoutStreaming(rawBody)));
    const explicit = given !== undefined;
    const key = explicit
      ? `key:${sha256(`${model}\n${given}`)}`
      : `auto:${sha256(`${model}\n${conversationHeaders(headers)}\n${requestHash}`)}`;
    const retry = Number(header(headers, 'x-stainless-retry-count') ?? 0) > 0;
    void this.purge();

    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.insert(key, requestHash)) return this.claim(key, explicit);
      const row = await this.read(key);
      if (!row) continue; // expired and purged meanwhile
      if (explicit && row.request_hash !== requestHash) {
        throw new AppError(
          'invalid',
          'chat.idempotency_key_reused',
          `This ${IDEMPOTENCY_HEADER} was used for a different request; use a new key for a new request.`,
          { param: IDEMPOTENCY_HEADER },
        );
      }
      if (row.status === null) return this.attach(key);
      const replay = explicit || (row.recent && (row.status >= 400 || retry));
      if (replay) {
        await this.db.query(`UPDATE idempotency_keys SET seen_at = now() WHERE key = $1`, [key]);
        return {
          kind: 'repeat',
          result: Promise.resolve(toResult(row)),
          inFlight: false,
          leave: () => undefined,
        };
      }
      // a finished request repeated on purpose: run it again, if no identical one took the key first
      if (await this.takeOver(key, requestHash)) return this.claim(key, false);
    }
    return this.attach(key);
  }

  /**
   * A request attached to the turn in flight: counted here, and its heartbeat (`seen_at`) in the
   * database tells the turn's replica that someone still waits for it (`Claim.keepFor`).
   */
  private attach(key: string): Repeat {
    this.waiting.set(key, (this.waiting.get(key) ?? 0) + 1);
    const touch = () =>
      void this.db
        .query(`UPDATE idempotency_keys SET seen_at = now() WHERE key = $1 AND status IS NULL`, [
          key,
        ])
        .catch(() => undefined); // a missed beat only shortens the turn's grace
    touch();
    const beat = setInterval(touch, WAITING_BEAT_MS);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      clearInterval(beat);
      const count = (this.waiting.get(key) ?? 1) - 1;
      if (count > 0) this.waiting.set(key, count);
      else this.waiting.delete(key);
    };
    const result = this.wait(key);
    result.then(leave, leave);
    return { kind: 'repeat', result, inFlight: true, leave };
  }

  private claim(key: string, explicit: boolean): Claim {
    let settle!: (result: StoredResult | null) => void;
    let settled = false;
    const done = new Promise<StoredResult | null>((resolve) => (settle = resolve));
    void done.then(() => (settled = true));
    const forLocal = done.then((r) => r ?? this.wait(key));
    forLocal.catch(() => undefined);
    this.local.set(key, forLocal);
    const forget = () => {
      if (this.local.get(key) === forLocal) this.local.delete(key);
    };
    return {
      kind: 'new',
      explicit,
      finish: (result) => {
        settle(result);
        // after this tick: the answer goes out first (the embedded database runs on this thread)
        setImmediate(
          () =>
            void this.db
              .query(
                `UPDATE idempotency_keys SET status = $2, body = $3::jsonb, headers = $4::jsonb,
               conversation_id = $5, seen_at = now(), expires_at = now() + make_interval(secs => $6)
             WHERE key = $1`,
                [
                  key,
                  result.status,
                  JSON.stringify(result.body),
                  JSON.stringify(result.headers),
                  result.conversationId,
                  this.config.idempotencyTtlMs / 1000,
                ],
              )
              .catch((err: unknown) => this.logger.warn({ err }, 'Could not store a turn result'))
              .finally(forget),
        );
      },
      drop: () => {
        void this.db
          .query(`DELETE FROM idempotency_keys WHERE key = $1`, [key])
          .catch((err: unknown) => this.logger.warn({ err }, 'Could not drop a retry key'))
          .finally(() => {
            settle(null);
            forget();
          });
      },
      keepFor: (graceMs, cancel) => {
        const check = async (since: Date) => {
          if (settled) return;
          const next = await this.dbNow().catch(() => new Date(0));
          if ((this.waiting.get(key) ?? 0) > 0 || (await this.waitedSince(key, since))) {
            setTimeout(() => void check(next), graceMs).unref();
          } else if (!settled) cancel();
        };
        void this.dbNow().then(
          (since) => setTimeout(() => void check(since), graceMs).unref(),
          () => cancel(), // the database is down: nobody can attach, nothing to wait for
        );
      },
    };
  }

  private async dbNow(): Promise<Date> {
    const rows = await this.db.query<{ now: Date | string }[]>(`SELECT now() AS now`);
    return new Date(rows[0].now);
  }

  /** Whether a request attached to `key` said it was waiting after `since` (the database's clock). */
  private async waitedSince(key: string, since: Date): Promise<boolean> {
    const rows = await this.db
      .query<unknown[]>(`SELECT 1 FROM idempotency_keys WHERE key = $1 AND seen_at > $2`, [
        key,
        since.toISOString(),
      ])
      .catch(() => []);
    return rows.length > 0;
  }

  /** The result of the turn that holds `key`: from this process, else polled from the database. */
  private async wait(key: string): Promise<StoredResult> {
    const here = this.local.get(key);
    if (here) return here;
    const until = Date.now() + this.agent.turnTimeoutMs + 60_000;
    while (Date.now() < until) {
      const row = await this.read(key);
      if (!row) break; // the turn was dropped (it never started, or ended without a result to keep)
      if (row.status !== null) return toResult(row);
      const local = this.local.get(key);
      if (local) return local;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    throw new AppError(
      'conflict',
      'chat.retry_not_answered',
      'The earlier attempt of this request ended without a result to repeat; send it again.',
    );
  }

  private async insert(key: string, requestHash: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `INSERT INTO idempotency_keys (key, request_hash, expires_at)
       VALUES ($1, $2, now() + make_interval(secs => $3))
       ON CONFLICT (key) DO UPDATE SET request_hash = EXCLUDED.request_hash, conversation_id = NULL,
         status = NULL, body = NULL, headers = NULL, created_at = now(), seen_at = now(),
         expires_at = EXCLUDED.expires_at
       WHERE idempotency_keys.expires_at < now()
       RETURNING key`,
      [key, requestHash, this.agent.turnTimeoutMs / 1000 + 3600],
    );
    return rows.length > 0;
  }

  /** Restarts a finished key for a new run; false when another request restarted it first. */
  private async takeOver(key: string, requestHash: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `UPDATE idempotency_keys SET request_hash = $2, conversation_id = NULL, status = NULL,
         body = NULL, headers = NULL, created_at = now(), seen_at = now(),
         expires_at = now() + make_interval(secs => $3)
       WHERE key = $1 AND status IS NOT NULL
       RETURNING key`,
      [key, requestHash, this.agent.turnTimeoutMs / 1000 + 3600],
    );
    return rows.length > 0;
  }

  private async read(key: string): Promise<Row | null> {
    const rows = await this.db.query<Row[]>(
      `SELECT request_hash, conversation_id, status, body, headers,
         seen_at > now() - make_interval(secs => $2) AS recent
       FROM idempotency_keys WHERE key = $1 AND expires_at >= now()`,
      [key, RETRY_WINDOW_MS / 1000],
    );
    return rows[0] ?? null;
  }

  /** Expired rows go, at most once a minute per process. */
  private async purge(): Promise<void> {
    if (Date.now() - this.lastPurge < 60_000) return;
    this.lastPurge = Date.now();
    await this.db
      .query(`DELETE FROM idempotency_keys WHERE expires_at < now()`)
      .catch((err: unknown) => this.logger.warn({ err }, 'Could not purge retry keys'));
  }
}

/** The request as it matters for its answer: streamed or not, it is the same request. */
function withoutStreaming(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body ?? null;
  const { stream: _stream, stream_options: _options, ...rest } = body as Record<string, unknown>;
  return rest;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The headers that pick a conversation: the same body on another conversation is another request. */
function conversationHeaders(headers: IncomingHttpHeaders): string {
  return Object.keys(headers)
    .filter((name) => /conversation|chat-id|session-id/i.test(name))
    .sort()
    .map((name) => `${name}:${header(headers, name)}`)
    .join('\n');
}

const toResult = (row: Row): StoredResult => ({
  status: row.status ?? 500,
  body: row.body,
  headers: row.headers ?? {},
  conversationId: row.conversation_id,
});
