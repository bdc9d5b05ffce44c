import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { AgentEvent, TurnOutcome } from '../agent/agent-events';
import { AgentRunner } from '../agent/agent-runner';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import { ActiveTurns, type CancelReason } from '../conversations/active-turns';
import { ConversationsService } from '../conversations/conversations.service';
import type { LlmRequest, ResolvedModel } from '../models/llm-types';
import { ModelsService } from '../models/models.service';
import { BackgroundTaskRunner } from './background-task-runner';
import { isBackgroundTask } from './background-task';
import { titleOf, toTurnRequest, type TurnRequest } from './chat-request';
import { ConversationResolver, type ResolveInput } from './conversation-resolver';
import type { CreateChatCompletionDto } from './dto/create-chat-completion.dto';

/** A started turn (or a chat UI's background request, which has no conversation). */
export interface StartedTurn {
  conversationId: string | null;
  events: AsyncIterable<AgentEvent>;
  outcome: Promise<TurnOutcome>;
  cancel(reason: CancelReason): void;
}

/** Picks the conversation, takes its turn lock and starts the agent. Rendering is the caller's. */
@Injectable()
export class ChatCompletionsService {
  constructor(
    private readonly models: ModelsService,
    private readonly conversations: ConversationsService,
    private readonly resolver: ConversationResolver,
    private readonly agent: AgentRunner,
    private readonly background: BackgroundTaskRunner,
    private readonly active: ActiveTurns,
    @Inject(agentConfig.KEY) private readonly limits: ConfigType<typeof agentConfig>,
  ) {}

  async start(
    body: CreateChatCompletionDto,
    headers: ResolveInput['headers'],
  ): Promise<StartedTurn> {
    const request = toTurnRequest(body.messages);
    const model = await this.models.resolve(body.model);
    const release = this.active.tryReserve(this.limits.maxConcurrentTurns);
    if (!release) throw tooManyTurns(this.limits.maxConcurrentTurns);
    try {
      const turn = await this.begin(body, headers, request, model);
      void turn.outcome.finally(release);
      return turn;
    } catch (err) {
      release();
      throw err;
    }
  }

  private async begin(
    body: CreateChatCompletionDto,
    headers: ResolveInput['headers'],
    request: TurnRequest,
    model: ResolvedModel,
  ): Promise<StartedTurn> {
    if (isBackgroundTask(body.messages)) {
      const direct = this.background.start(request, model, overridesOf(body));
      return {
        conversationId: null,
        events: direct.events,
        outcome: direct.outcome,
        cancel: () => direct.cancel(),
      };
    }
    const selection = await this.resolver.resolve({
      headers,
      metadata: body.metadata,
      profileName: model.profileName,
      request,
    });
    const journal = await this.conversations.beginTurn({
      conversationId: selection.conversationId,
      profileName: model.profileName,
      model: model.model,
      create: selection.create && {
        title: titleOf(request.input.text),
        systemPromptSuffix: request.systemText,
        seed: selection.create.seed,
        ifMissing: selection.create.ifMissing,
      },
      input: {
        kind: 'user_message',
        source: 'user',
        payload: {
          text: request.input.text,
          ...(request.input.images.length ? { images: request.input.images } : {}),
        },
      },
    });
    if (selection.alias)
      await this.conversations.saveAlias(
        model.profileName,
        selection.alias,
        journal.conversation.id,
      );
    const run = this.agent.start({
      journal,
      model,
      overrides: overridesOf(body),
      streamed: body.stream === true,
    });
    return {
      conversationId: run.conversationId,
      events: run,
      outcome: run.outcome,
      cancel: (reason) => run.cancel(reason),
    };
  }
}

/** Sampling settings of the request, applied to every LLM step. `stop` is not: it would cut tool calls short. */
function overridesOf(body: CreateChatCompletionDto): LlmRequest['overrides'] {
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxOutputTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
    seed: body.seed ?? undefined,
  };
}

const tooManyTurns = (limit: number) =>
  new AppError(
    'rate_limited',
    'chat.too_many_turns',
    `This server is running its maximum of ${limit} concurrent turns (OH_MAX_CONCURRENT_TURNS); retry shortly.`,
    { headers: { 'Retry-After': '1' } },
  );
