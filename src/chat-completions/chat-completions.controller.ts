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
import type { StartedTurn } from '../agent/turns.types';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { ApiObservabilityHeaders } from '../common/tracing/api-observability-headers.decorator';
import { AppError } from '../common/errors/app-error';
import { chatConfig } from '../config/chat.config';
import { MetricsService } from '../metrics/metrics.service';
import { STEP_RENDERINGS, type StepRendering } from '../config/env.schema';
import { ChatCompletionsService } from './chat-completions.service';
import { TOOLS_HEADER } from './chat-request';
import { resultOf } from './completion-renderer';
import {
  IdempotencyService,
  IDEMPOTENCY_HEADER,
  type Repeat,
  type StoredResult,
} from './idempotency';
import { openEventStream } from '../common/http/event-stream';
import { openAiErrorBody } from '../common/errors/error-body';
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
    private readonly idempotency: IdempotencyService,
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
    name: IDEMPOTENCY_HEADER,
    required: false,
    description:
      'A key of your choice (1-255 characters) that makes retries safe: a request repeated with the same key is attached to the turn in flight, or answered with the stored result of the finished one (for OH_IDEMPOTENCY_TTL_S), on any replica; the turn goes on if the client disconnects. The same key with a different body is a 400. Without a key, an identical request is attached to the one in flight, and a non-streamed turn whose client disconnected waits OH_RETRY_GRACE_S for it.',
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
  @ApiObservabilityHeaders()
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
    const admission = await this.idempotency.admit(req.body, req.headers, body.model);
    if (admission.kind === 'repeat') {
      await this.sendRepeat(admission, body, res);
      return;
    }
    const claim = admission.kind === 'new' ? admission : null;
    let turn: StartedTurn;
    try {
      turn = await this.chat.start(body, req.headers);
    } catch (err) {
      claim?.drop(); // no turn ran: a retry may start one
      throw err;
    }
    // one result for this request and for its repeats (the same completion id)
    const result = turn.outcome.then((outcome) => ({
      outcome,
      result: resultOf(outcome, body.model, turn.conversationId),
    }));
    void result.then(
      ({ outcome, result: r }) => {
        // a cancelled turn, or a 429 before anything happened, is not worth repeating: a retry runs
        if (outcome.reason === 'cancelled' || r.status === 429) claim?.drop();
        else claim?.finish(r);
      },
      () => claim?.drop(),
    );
    if (turn.conversationId) {
      res.setHeader(CONVERSATION_HEADER, turn.conversationId);
      this.log.assign({ conversation_id: turn.conversationId }); // every later line of this request
    }
    res.on('close', () => {
      if (res.writableFinished || claim?.explicit) return; // with a key, the client will ask again
      const cancel = () => turn.cancel('client_disconnected');
      // a non-streamed request cut by a timeout (the client's or a proxy's) is usually retried
      // as is: its turn waits OH_RETRY_GRACE_S for the retry to attach. A stream's client stops.
      if (claim && !body.stream && this.config.retryGraceMs > 0) {
        claim.keepFor(this.config.retryGraceMs, cancel);
      } else cancel();
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
    const keepalive = this.startNonStreamKeepalive(res);
    for await (const _ of turn.events); // the body waits for the turn's end
    const { result: r } = await result;
    if (keepalive) {
      // the status went out already: an error is still an OpenAI error body, with status 200
      clearInterval(keepalive);
      res.end(JSON.stringify(r.body));
      return;
    }
    res.status(r.status).set(r.headers).json(r.body);
  }

  /**
   * OH_NONSTREAM_KEEPALIVE_S: status and headers at once, then a space every so often until the
   * JSON (parsers skip leading whitespace), so a proxy's read timeout cannot cut a long turn.
   */
  private startNonStreamKeepalive(res: Response): NodeJS.Timeout | null {
    const every = this.config.nonStreamKeepaliveMs;
    if (every <= 0) return null;
    res.status(200).setHeader('Content-Type', 'application/json; charset=utf-8');
    res.flushHeaders();
    return setInterval(() => {
      if (!res.writableEnded) {
        res.write(' ');
        this.metrics.keepalive();
      }
    }, every);
  }

  /**
   * The same request's earlier turn, as this request asked for it (JSON or SSE). While that turn
   * runs, this request gets the same keepalives as its own turn would: `: keepalive` comments on a
   * stream, whitespace with OH_NONSTREAM_KEEPALIVE_S.
   */
  private async sendRepeat(
    repeat: Repeat,
    body: CreateChatCompletionDto,
    res: Response,
  ): Promise<void> {
    res.setHeader('x-openhands-repeated', 'true');
    res.on('close', () => repeat.leave());
    let keepalive: NodeJS.Timeout | null = null;
    if (repeat.inFlight && body.stream) {
      openEventStream(res);
      keepalive = setInterval(() => {
        if (res.writableEnded) return;
        res.write(': keepalive\n\n');
        this.metrics.keepalive();
      }, this.config.keepaliveMs);
    } else if (repeat.inFlight) {
      keepalive = this.startNonStreamKeepalive(res);
    }
    let result: StoredResult;
    try {
      result = await repeat.result;
    } catch (err) {
      if (!keepalive) throw err;
      clearInterval(keepalive);
      result = {
        status: 409,
        body: openAiErrorBody(err as AppError),
        headers: {},
        conversationId: null,
      };
    }
    if (keepalive) clearInterval(keepalive);
    if (res.destroyed) return;
    if (result.conversationId && !res.headersSent) {
      res.setHeader(CONVERSATION_HEADER, result.conversationId);
    }
    if (!body.stream) {
      // with keepalives the status went out already: an error is still an OpenAI error body
      if (keepalive) res.end(JSON.stringify(result.body));
      else res.status(result.status).set(result.headers).json(result.body);
      return;
    }
    if (!res.headersSent) {
      if (result.status !== 200) {
        res.status(result.status).set(result.headers).json(result.body);
        return;
      }
      openEventStream(res);
    }
    res.end(storedResultAsEvents(result, body.stream_options?.include_usage === true));
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

/** A stored result as the events of a stream: one chunk with the whole message, or the error frame. */
function storedResultAsEvents(result: StoredResult, includeUsage: boolean): string {
  const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
  if (result.status !== 200) return frame(result.body) + 'data: [DONE]\n\n';
  const completion = result.body as ChatCompletionDto;
  const choice = completion.choices[0];
  const chunk = (delta: object, finish: string | null) =>
    frame({
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    });
  const toolCalls = (choice.message as { tool_calls?: object[] }).tool_calls;
  let events = chunk(
    {
      role: 'assistant',
      content: choice.message.content,
      ...(toolCalls?.length
        ? { tool_calls: toolCalls.map((call, index) => ({ index, ...call })) }
        : {}),
    },
    null,
  );
  events += chunk({}, choice.finish_reason);
  if (includeUsage) {
    events += frame({
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      choices: [],
      usage: completion.usage,
    });
  }
  return events + 'data: [DONE]\n\n';
}
