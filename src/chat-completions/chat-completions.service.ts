import { Injectable } from '@nestjs/common';
import type { AgentRun, TurnTools, StartedTurn, TurnRequest } from '../agent/turns.types';
import { TurnsService } from '../agent/turns.service';
import type { LlmRequest, ResolvedModel } from '../models/llm.types';
import { clampOutputTokens, ModelsService } from '../models/models.service';
import { isBackgroundTask } from './background-task';
import {
  answerFormatOf,
  titleOf,
  toolResultsOf,
  TOOLS_HEADER,
  toTurnRequest,
  turnToolsOf,
} from './chat-request';
import {
  ConversationResolver,
  explicitConversationId,
  header,
  type ResolveInput,
} from './conversation-resolver';
import type { CreateChatCompletionDto } from './dto/create-chat-completion.dto';

// What the Responses API shares with chat completions: its requests map onto chat messages and
// the same turn request, and its rendering reuses the step lines and the failure of an outcome.
export { TOOLS_HEADER, titleOf, toolModeOf, toTurnRequest } from './chat-request';
export { failureOf } from './completion-renderer';
export { CONVERSATION_HEADER, seedOf } from './conversation-resolver';
export { stepLine } from './step-lines';

/** Maps the request onto a turn and picks its conversation; the turn owner runs it. Rendering is the caller's. */
@Injectable()
export class ChatCompletionsService {
  constructor(
    private readonly models: ModelsService,
    private readonly resolver: ConversationResolver,
    private readonly turns: TurnsService,
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
    this.turns.checkTools(tools);
    const release = this.turns.reserve('chat');
    try {
      const turn = results
        ? started(
            await this.turns.resume({
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
    if (isBackgroundTask(body.messages))
      return this.turns.runAuxiliary(request, model, overridesOf(body, model));
    const selection = await this.resolver.resolve({
      headers,
      metadata: body.metadata,
      profileName: model.profileName,
      request,
      toolNames: tools.client.map((t) => t.name),
    });
    const run = await this.turns.begin({
      conversationId: selection.conversationId,
      request,
      create: selection.create && {
        title: titleOf(request.input.text),
        seed: selection.create.seed,
        ifMissing: selection.create.ifMissing,
      },
      alias: selection.alias,
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
