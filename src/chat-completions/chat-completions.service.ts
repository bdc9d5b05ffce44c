import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { AgentEvent, TurnOutcome } from '../agent/agent-events';
import type { AgentRun } from '../agent/agent-run';
import { AgentRunner } from '../agent/agent-runner';
import { ClientToolBridge } from '../agent/client-tool-bridge';
import type { TurnTools } from '../agent/client-tools';
import { AppError } from '../common/errors/app-error';
import { agentConfig } from '../config/agent.config';
import { ActiveTurns, type CancelReason } from '../conversations/active-turns';
import { ConversationsService } from '../conversations/conversations.service';
import type { LlmRequest, ResolvedModel } from '../models/llm-types';
import { ModelsService } from '../models/models.service';
import { clampOutputTokens } from '../models/output-limits';
import { BackgroundTaskRunner } from './background-task-runner';
import { isBackgroundTask } from './background-task';
import {
  answerFormatOf,
  titleOf,
  toolResultsOf,
  TOOLS_HEADER,
  toTurnRequest,
  turnToolsOf,
  type TurnRequest,
} from './chat-request';
import {
  ConversationResolver,
  explicitConversationId,
  header,
  type ResolveInput,
} from './conversation-resolver';
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
    private readonly bridge: ClientToolBridge,
    private readonly background: BackgroundTaskRunner,
    private readonly active: ActiveTurns,
    @Inject(agentConfig.KEY) private readonly limits: ConfigType<typeof agentConfig>,
  ) {}

  async start(
    body: CreateChatCompletionDto,
    headers: ResolveInput['headers'],
  ): Promise<StartedTurn> {
    // a request ending with tool results resumes the turn that called the client's tools
    const results = toolResultsOf(body.messages);
    const request = results ? null : toTurnRequest(body.messages);
    const model = await this.models.resolve(body.model);
    const tools = turnToolsOf(
      body,
      header(headers, TOOLS_HEADER.toLowerCase()),
      model.config.tool_mode,
    );
    this.bridge.check(tools);
    const release = this.active.tryReserve(this.limits.maxConcurrentTurns);
    if (!release) throw tooManyTurns(this.limits.maxConcurrentTurns);
    try {
      const turn = results
        ? started(
            await this.bridge.resume({
              conversationId: explicitConversationId(headers),
              model,
              results,
              tools,
              overrides: overridesOf(body, model),
              streamed: body.stream === true,
              answerFormat: answerFormatOf(body.response_format),
            }),
          )
        : await this.begin(body, headers, request as TurnRequest, model, tools);
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
    tools: TurnTools,
  ): Promise<StartedTurn> {
    if (isBackgroundTask(body.messages)) {
      const direct = this.background.start(request, model, overridesOf(body, model));
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
      toolNames: tools.client.map((t) => t.name),
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
      overrides: overridesOf(body, model),
      streamed: body.stream === true,
      tools,
      answerFormat: answerFormatOf(body.response_format),
    });
    return started(run);
  }
}

const started = (run: AgentRun): StartedTurn => ({
  conversationId: run.conversationId,
  events: run,
  outcome: run.outcome,
  cancel: (reason) => run.cancel(reason),
});

/**
 * Sampling settings of the request, applied to every LLM step. `stop` is not: it would cut tool
 * calls short. The client's token limit is clamped to the profile's `max_output_tokens`, else to
 * the model's known limit: a client default above what the model can produce (opencode sends
 * 32000) would fail every step.
 */
function overridesOf(body: CreateChatCompletionDto, model: ResolvedModel): LlmRequest['overrides'] {
  const asked = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxOutputTokens: clampOutputTokens(asked, model.config),
    seed: body.seed ?? undefined,
    frequencyPenalty: body.frequency_penalty ?? undefined,
    presencePenalty: body.presence_penalty ?? undefined,
    reasoningEffort: body.reasoning_effort ?? undefined,
  };
}

const tooManyTurns = (limit: number) =>
  new AppError(
    'rate_limited',
    'chat.too_many_turns',
    `This server is running its maximum of ${limit} concurrent turns (OH_MAX_CONCURRENT_TURNS); retry shortly.`,
    { headers: { 'Retry-After': '1' } },
  );
