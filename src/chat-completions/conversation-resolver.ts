import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import type { NewEvent } from '../conversations/events.types';
import {
  ConversationsService,
  normalizeText,
  transcriptHash,
  transcriptOf,
  type TranscriptEntry,
} from '../conversations/conversations.service';
import type { TurnRequest } from '../agent/turns.types';

export const CONVERSATION_HEADER = 'X-OpenHands-ServerConversation-ID';
/** Chat ids clients can send (Open WebUI's user-info headers, custom headers of LibreChat and others). */
export const CHAT_ID_HEADERS = ['x-openwebui-chat-id', 'x-conversation-id', 'x-chat-id'] as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface ResolveInput {
  headers: Record<string, string | string[] | undefined>;
  metadata: Record<string, unknown> | null | undefined;
  profileName: string;
  request: TurnRequest;
  /** The names of the client's tools (part of what identifies a chat). */
  toolNames?: string[];
}

/** Which conversation a turn runs in, and how it got there. */
export interface Selection {
  conversationId: string;
  /**
   * Set when the conversation is (or may be) new: seed events from the client's history.
   * `ifMissing`: the id may well exist; continue it then, create it only when it does not.
   */
  create?: { seed: NewEvent[]; ifMissing?: boolean };
  /** Remember this client chat id for the conversation once the turn has begun. */
  alias?: string;
  via: 'header' | 'chat-id' | 'metadata' | 'history' | 'new';
}

/**
 * Finds the conversation a request continues, in this order (API.md section 5, CLIENTS.md section 7):
 * our own header; a client chat id header; `metadata.conversation_id`; the client's history
 * matching a stored transcript. A history that diverges from the conversation a chat id points at
 * (an edit, a regenerate) starts a new conversation seeded from the client's history. Every
 * implicit lookup is scoped to the request's profile.
 */
@Injectable()
export class ConversationResolver {
  constructor(private readonly conversations: ConversationsService) {}

  async resolve(input: ResolveInput): Promise<Selection> {
    const { request } = input;
    const explicit = explicitConversationId(input.headers);
    if (explicit !== undefined) {
      // continued when it exists, created under that id when not: decided by beginTurn's lock
      return {
        conversationId: explicit,
        create: { seed: seedOf(request), ifMissing: true },
        via: 'header',
      };
    }

    for (const name of CHAT_ID_HEADERS) {
      const value = header(input.headers, name);
      if (value) return this.byClientKey(`${name}:${value}`, input, 'chat-id');
    }

    const fromMetadata = input.metadata?.conversation_id;
    if (typeof fromMetadata === 'string' && fromMetadata.trim()) {
      const value = fromMetadata.trim();
      if (UUID.test(value)) {
        const own = await this.conversations.find(value.toLowerCase());
        if (own && own.profileName === input.profileName)
          return { conversationId: own.id, via: 'metadata' };
      }
      return this.byClientKey(`metadata:${value}`, input, 'metadata');
    }

    if (request.prior.some((m) => m.role === 'assistant')) {
      const hash = transcriptHash(clientTranscript(request), {
        system: request.systemText,
        tools: input.toolNames ?? [],
      });
      const match = hash
        ? await this.conversations.findByTranscript(input.profileName, hash)
        : null;
      if (match) return { conversationId: match, via: 'history' };
    }
    return { conversationId: randomUUID(), create: { seed: seedOf(request) }, via: 'new' };
  }

  private async byClientKey(
    key: string,
    input: ResolveInput,
    via: Selection['via'],
  ): Promise<Selection> {
    const clientKey = key.slice(0, 300);
    const existing = await this.conversations.findAlias(input.profileName, clientKey);
    if (existing) {
      const conversation = await this.conversations.find(existing);
      if (conversation) {
        const stored = transcriptOf(await this.conversations.history(conversation));
        if (sameTranscript(stored, clientTranscript(input.request)))
          return { conversationId: existing, via };
      }
    }
    return {
      conversationId: randomUUID(),
      create: { seed: seedOf(input.request) },
      alias: clientKey,
      via,
    };
  }
}

/** The conversation our header names (lower-cased), if any; 400 when it is not a UUID. */
export function explicitConversationId(headers: ResolveInput['headers']): string | undefined {
  const explicit = header(headers, CONVERSATION_HEADER.toLowerCase());
  if (explicit === undefined) return undefined;
  if (!UUID.test(explicit)) {
    throw new AppError(
      'invalid',
      'chat.invalid_conversation_id',
      `${CONVERSATION_HEADER} must be a UUID; got '${explicit.slice(0, 64)}'.`,
      { param: CONVERSATION_HEADER },
    );
  }
  return explicit.toLowerCase();
}

export function header(headers: ResolveInput['headers'], name: string): string | undefined {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

/** The client's history before the input, as a transcript. */
function clientTranscript(request: TurnRequest): TranscriptEntry[] {
  return request.prior.map((m) => [m.role, normalizeText(m.text)] as const);
}

function sameTranscript(a: readonly TranscriptEntry[], b: readonly TranscriptEntry[]): boolean {
  return (
    a.length === b.length && a.every(([role, text], i) => role === b[i][0] && text === b[i][1])
  );
}

/** Earlier turns a client sent with a new conversation become its prior context (Ref: dropped them). */
export function seedOf(request: TurnRequest): NewEvent[] {
  return request.prior.map((m): NewEvent =>
    m.role === 'user'
      ? {
          kind: 'user_message',
          source: 'user',
          payload: { text: m.text, ...(m.images.length ? { images: m.images } : {}), seeded: true },
        }
      : { kind: 'assistant_message', source: 'agent', payload: { text: m.text, seeded: true } },
  );
}
