import { Injectable } from '@nestjs/common';
import { AppError } from '../common/errors/app-error';
import type { NewEvent, StoredEvent } from '../conversations/events.types';
import { ConversationsService, type TurnJournal } from '../conversations/conversations.service';
import {
  toolCallAlias,
  type ClientToolResult,
  type PendingToolCall,
  type TurnTools,
} from './client-tools';
import { ToolRegistry } from './tools/tool-registry';
import type { TurnSettings } from './turns.types';

/** A paused turn to resume with the client's tool results. */
export interface ResumeTurn extends TurnSettings {
  /** The conversation named by the client (our header, `previous_response_id`…); else found by the call ids. */
  conversationId?: string;
  /** One result per pending call, matched by `toolCallId`. */
  results: ClientToolResult[];
}

/**
 * The client-tools bridge, for every API that carries client tools (Chat Completions, Responses):
 * a turn whose model calls a client tool pauses (`AgentRunner`: turn end `tool_calls`, status
 * `idle`, the pending calls recorded in the conversation's log and findable by their ids); the
 * client runs the calls and sends their results; `reopen` appends them as tool results, and the
 * turn owner (`TurnsService`) runs the same agent loop on from there.
 */
@Injectable()
export class ClientToolBridge {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly registry: ToolRegistry,
  ) {}

  /** A 400 for tools the model could not be offered: a name the server's tools use, a bad choice. */
  check(tools: TurnTools): void {
    const names = new Set<string>();
    for (const tool of tools.client) {
      if (names.has(tool.name)) {
        throw new AppError(
          'invalid',
          'agent.duplicate_tool',
          `Two client tools are named '${tool.name}'.`,
          {
            param: 'tools',
          },
        );
      }
      names.add(tool.name);
    }
    const server = tools.mode === 'client' ? [] : this.registry.names();
    if (tools.mode === 'both') {
      const clash = server.filter((name) => names.has(name));
      if (clash.length > 0) {
        throw new AppError(
          'invalid',
          'agent.tool_name_collision',
          `Client tool ${clash.map((n) => `'${n}'`).join(', ')} has the name of a server tool (${server.join(', ')}). Rename it, or offer the client's tools only (X-OpenHands-Tools: client).`,
          { param: 'tools' },
        );
      }
    }
    if (typeof tools.choice === 'object') {
      const offered = [...(tools.mode === 'server' ? [] : names), ...server];
      if (!offered.includes(tools.choice.name)) {
        throw new AppError(
          'invalid',
          'agent.unknown_tool_choice',
          `tool_choice names '${tools.choice.name}', which is not among the tools offered (${offered.join(', ') || 'none'}).`,
          { param: 'tool_choice' },
        );
      }
    }
  }

  /** The client tool calls a conversation waits for: those of its last turn if it paused on them. */
  pendingCalls(history: readonly StoredEvent[]): PendingToolCall[] {
    const last = history.at(-1);
    if (last?.kind !== 'turn_end' || last.payload.reason !== 'tool_calls') return [];
    return last.payload.pending_tool_calls ?? [];
  }

  /** The conversation (of this profile) waiting for a call with one of these ids, if any. */
  async findWaiting(profileName: string, toolCallIds: string[]): Promise<string | null> {
    for (const id of toolCallIds) {
      const found = await this.conversations.findAlias(profileName, toolCallAlias(id));
      if (found) return found;
    }
    return null;
  }

  /**
   * Reopens a paused turn: checks that the results answer exactly the pending calls (400
   * otherwise, naming the ids) and records them as the turn's input under the turn lock (409 if
   * another request got there first). The agent runs on from the returned journal.
   */
  async reopen(turn: ResumeTurn): Promise<TurnJournal> {
    const ids = turn.results.map((r) => r.toolCallId);
    const conversationId =
      turn.conversationId ?? (await this.findWaiting(turn.model.profileName, ids));
    if (!conversationId) throw unknownCalls(ids);
    const conversation = await this.conversations.find(conversationId);
    if (!conversation) throw unknownCalls(ids);
    const history = await this.conversations.history(conversation);
    const pending = this.pendingCalls(history);
    if (pending.length === 0) {
      throw new AppError(
        'invalid',
        'agent.not_waiting_for_tool_results',
        `The request ends with tool results, but conversation ${conversation.id} is not waiting for any (its last turn did not call a client tool, or was resumed already). End the messages with a user message.`,
        { param: 'messages' },
      );
    }
    const events = this.resultEvents(history, pending, turn.results);
    return this.conversations.beginTurn({
      conversationId: conversation.id,
      profileName: turn.model.profileName,
      model: turn.model.model,
      input: events,
      expectedLastSeq: conversation.lastSeq,
    });
  }

  /** The results as `tool_result` events under the provider's call ids, in the calls' order. */
  private resultEvents(
    history: readonly StoredEvent[],
    pending: PendingToolCall[],
    results: ClientToolResult[],
  ): NewEvent[] {
    const byId = new Map<string, ClientToolResult>();
    for (const result of results) {
      if (byId.has(result.toolCallId)) {
        throw new AppError(
          'invalid',
          'agent.duplicate_tool_result',
          `Two tool messages answer tool_call_id '${result.toolCallId}'.`,
          { param: 'messages' },
        );
      }
      byId.set(result.toolCallId, result);
    }
    const expected = new Set(pending.map((c) => c.id));
    const unknown = results.map((r) => r.toolCallId).filter((id) => !expected.has(id));
    if (unknown.length > 0) throw unknownCalls(unknown, pending);
    const missing = pending.filter((c) => !byId.has(c.id));
    if (missing.length > 0) {
      throw new AppError(
        'invalid',
        'agent.missing_tool_results',
        `No tool message answers ${missing.map((c) => `'${c.id}' (${c.name})`).join(', ')}: send one result for each pending call.`,
        { param: 'messages' },
      );
    }
    const providerIds = new Map<string, string>();
    for (const event of history) {
      if (event.kind === 'tool_call' && event.payload.client_call_id)
        providerIds.set(event.payload.client_call_id, event.payload.tool_call_id);
    }
    return pending.map((call): NewEvent => {
      const result = byId.get(call.id) as ClientToolResult;
      return {
        kind: 'tool_result',
        source: 'user',
        payload: {
          tool_call_id: providerIds.get(call.id) ?? call.id,
          tool: call.name,
          output: result.output,
          is_error: result.isError ?? false,
          client: true,
        },
      };
    });
  }
}

function unknownCalls(ids: string[], pending?: PendingToolCall[]): AppError {
  const waiting = pending
    ? ` The conversation waits for ${pending.map((c) => `'${c.id}'`).join(', ')}.`
    : ' No conversation of this model waits for them.';
  return new AppError(
    'invalid',
    'agent.unknown_tool_call_id',
    `Tool results for ${ids.map((id) => `'${id}'`).join(', ')} match no pending tool call.${waiting}`,
    { param: 'messages' },
  );
}
