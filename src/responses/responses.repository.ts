import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { ResponseDto, ResponseStatus } from './dto/response.dto';
import type { StoredInputItem } from './response-input';
import type { ResponseStreamEvent } from './response-renderer';

export interface StoredResponse {
  id: string;
  conversationId: string;
  previousResponseId: string | null;
  status: ResponseStatus;
  background: boolean;
  body: ResponseDto;
  inputItems: StoredInputItem[];
  lastSeq: number;
  createdAt: Date;
}

interface RawResponse {
  id: string;
  conversation_id: string;
  previous_response_id: string | null;
  status: ResponseStatus;
  background: boolean;
  body: ResponseDto;
  input_items: StoredInputItem[];
  last_seq: number;
  created_at: Date;
}

const COLUMNS = `id, conversation_id, previous_response_id, status, background, body, input_items, last_seq, created_at`;

const EVENTS_FROM_JSON = `jsonb_to_recordset($EVENTS::jsonb) AS e(seq int, event jsonb)`;

/** The only place that builds queries on `responses` and `response_events`. */
@Injectable()
export class ResponsesRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async insert(r: {
    id: string;
    conversationId: string;
    previousResponseId: string | null;
    background: boolean;
    body: ResponseDto;
    inputItems: StoredInputItem[];
  }): Promise<void> {
    await this.db.query(
      `INSERT INTO responses (id, conversation_id, previous_response_id, status, background, body, input_items)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)`,
      [
        r.id,
        r.conversationId,
        r.previousResponseId,
        r.body.status,
        r.background,
        JSON.stringify(r.body),
        JSON.stringify(r.inputItems),
      ],
    );
  }

  async find(id: string): Promise<StoredResponse | null> {
    const rows = await this.db.query<RawResponse[]>(
      `SELECT ${COLUMNS} FROM responses WHERE id = $1`,
      [id],
    );
    return rows[0] ? toResponse(rows[0]) : null;
  }

  /** Whether a response of this conversation after `after` reached an answer (continuing `after` would fork). */
  async hasLaterAnswer(conversationId: string, after: StoredResponse): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `SELECT 1 FROM responses WHERE conversation_id = $1 AND created_at > $2 AND id <> $3
         AND status IN ('completed', 'incomplete') LIMIT 1`,
      [conversationId, after.createdAt, after.id],
    );
    return rows.length > 0;
  }

  /**
   * Appends stream events. With `body`, also stores the object: the final one (`final`, its
   * status too) in the same statement as the last events, or progress while it runs (never over a
   * finished one).
   */
  async append(
    id: string,
    events: ResponseStreamEvent[],
    body?: ResponseDto,
    final = false,
  ): Promise<void> {
    const last = events.at(-1)?.sequence_number ?? -1;
    await this.db.query(
      `WITH inserted AS (
         INSERT INTO response_events (response_id, seq, event)
         SELECT $1, e.seq, e.event FROM ${EVENTS_FROM_JSON.replace('$EVENTS', '$2')})
       UPDATE responses SET last_seq = GREATEST(last_seq, $3),
         status = CASE WHEN $6 THEN $4 ELSE status END,
         body = CASE WHEN $6 OR status IN ('queued', 'in_progress') THEN COALESCE($5::jsonb, body) ELSE body END,
         updated_at = now()
       WHERE id = $1`,
      [
        id,
        JSON.stringify(events.map((e) => ({ seq: e.sequence_number, event: e }))),
        last,
        body?.status ?? null,
        body ? JSON.stringify(body) : null,
        final,
      ],
    );
  }

  /**
   * Records as failed a response that is not finished yet, with its last event (`event` gets the
   * next sequence number): one statement, so a response that finished meanwhile stays as it is.
   */
  async markFailed(id: string, body: ResponseDto, event: ResponseStreamEvent): Promise<boolean> {
    const rows = await this.db.query<{ last_seq: number }[]>(
      `WITH failed AS (
         UPDATE responses SET status = 'failed', body = $2::jsonb, last_seq = last_seq + 1, updated_at = now()
         WHERE id = $1 AND status IN ('queued', 'in_progress')
         RETURNING last_seq),
       inserted AS (
         INSERT INTO response_events (response_id, seq, event)
         SELECT $1, failed.last_seq,
           jsonb_set($3::jsonb, '{sequence_number}', to_jsonb(failed.last_seq)) FROM failed
         ON CONFLICT DO NOTHING)
       SELECT last_seq FROM failed`,
      [id, JSON.stringify(body), JSON.stringify(event)],
    );
    return rows.length > 0;
  }

  async events(id: string, afterSeq: number, limit = 500): Promise<ResponseStreamEvent[]> {
    const rows = await this.db.query<{ event: ResponseStreamEvent }[]>(
      `SELECT event FROM response_events WHERE response_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [id, afterSeq, limit],
    );
    return rows.map((r) => r.event);
  }

  /** Deletes the response (its events go with it). False when there was none. */
  async delete(id: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(
      `DELETE FROM responses WHERE id = $1 RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }
}

function toResponse(r: RawResponse): StoredResponse {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    previousResponseId: r.previous_response_id,
    status: r.status,
    background: r.background,
    body: r.body,
    inputItems: r.input_items,
    lastSeq: r.last_seq,
    createdAt: r.created_at,
  };
}
