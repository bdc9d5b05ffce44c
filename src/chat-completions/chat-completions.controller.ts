import { Body, Controller, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiGatewayTimeoutResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { AppError } from '../common/errors/app-error';
import { chatConfig } from '../config/chat.config';
import { MetricsService } from '../metrics/metrics.service';
import { STEP_RENDERINGS, type StepRendering } from '../config/env.schema';
import { ChatCompletionsService } from './chat-completions.service';
import { TOOLS_HEADER } from './chat-request';
import { completionOf, failureOf } from './completion-renderer';
import { CHAT_ID_HEADERS, CONVERSATION_HEADER } from './conversation-resolver';
import { ChatCompletionDto } from './dto/chat-completion.dto';
import { CreateChatCompletionDto } from './dto/create-chat-completion.dto';
import { SseWriter } from './sse-writer';

export const PROGRESS_HEADER = 'X-OpenHands-Progress';

@ApiTags('chat')
@ApiSessionAuth()
@Controller('v1')
export class ChatCompletionsController {
  constructor(
    private readonly chat: ChatCompletionsService,
    private readonly metrics: MetricsService,
    private readonly log: PinoLogger,
    @Inject(chatConfig.KEY) private readonly config: ConfigType<typeof chatConfig>,
  ) {}

  /**
   * Runs one agent turn and answers as an OpenAI chat completion. The agent may call its tools
   * (shell, file editor, task list) in the conversation's workspace as often as it needs.
   * The response header `X-OpenHands-ServerConversation-ID` names the conversation; send it back to
   * continue it. With `stream: true` the turn streams as server-sent events as it happens.
   */
  @Post('chat/completions')
  @HttpCode(200)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ChatCompletionDto,
    description:
      'A `chat.completion`, or with `stream: true` a stream of `chat.completion.chunk` events.',
    headers: {
      [CONVERSATION_HEADER]: {
        description: 'The server-side conversation of this turn.',
        schema: { type: 'string', format: 'uuid' },
      },
    },
  })
  @ApiHeader({
    name: CONVERSATION_HEADER,
    required: false,
    description:
      'Continue this conversation (a UUID; an unknown one starts a conversation with that id).',
  })
  @ApiHeader({
    name: 'X-OpenWebUI-Chat-Id',
    required: false,
    description: `A client chat id (also ${CHAT_ID_HEADERS.slice(1).join(', ')}): its conversation is continued.`,
  })
  @ApiHeader({
    name: PROGRESS_HEADER,
    required: false,
    description:
      'How a stream shows tool steps: `reasoning` (reasoning_content), `think` (<think> in content) or `none`.',
  })
  @ApiHeader({
    name: TOOLS_HEADER,
    required: false,
    description:
      "Which tools the model gets: `server` (the workspace tools), `client` (the request's `tools`, run by the client), or `both`. Default: the profile's `tool_mode`, else `both`.",
  })
  @ApiBadRequestResponse({ description: 'Invalid request (OpenAI error shape).' })
  @ApiNotFoundResponse({ description: 'Unknown model (`model_not_found`).' })
  @ApiConflictResponse({ description: 'The conversation is running a turn (`conversation_busy`).' })
  @ApiResponse({
    status: 502,
    description: 'The LLM provider failed after retries (`upstream_error`).',
  })
  @ApiGatewayTimeoutResponse({ description: 'The turn ran past its time limit and was cancelled.' })
  async create(
    @Body() body: CreateChatCompletionDto,
    @Headers(PROGRESS_HEADER.toLowerCase()) progress: string | undefined,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const rendering = this.renderingOf(progress);
    const turn = await this.chat.start(body, req.headers);
    if (turn.conversationId) {
      res.setHeader(CONVERSATION_HEADER, turn.conversationId);
      this.log.assign({ conversation_id: turn.conversationId }); // every later line of this request
    }
    res.on('close', () => {
      if (!res.writableFinished) turn.cancel('client_disconnected');
    });

    if (body.stream) {
      const writer = new SseWriter(res, {
        model: body.model,
        includeUsage: body.stream_options?.include_usage === true,
        rendering,
        keepaliveMs: this.config.keepaliveMs,
        onKeepalive: () => this.metrics.keepalive(),
      });
      writer.open();
      await writer.pipe(turn.events);
      return;
    }
    for await (const _ of turn.events); // the body waits for the turn's end
    const outcome = await turn.outcome;
    const failure = failureOf(outcome);
    if (failure) {
      res.setHeader('x-should-retry', 'false'); // the turn ran; a blind retry would run another one
      throw failure;
    }
    res.json(completionOf(outcome, body.model));
  }

  private renderingOf(header: string | undefined): StepRendering {
    if (header === undefined || header === '') return this.config.stepRendering;
    const value = header.trim().toLowerCase();
    if ((STEP_RENDERINGS as readonly string[]).includes(value)) return value as StepRendering;
    throw new AppError(
      'invalid',
      'chat.invalid_progress',
      `${PROGRESS_HEADER} must be one of ${STEP_RENDERINGS.join(', ')}.`,
      {
        param: PROGRESS_HEADER,
      },
    );
  }
}
