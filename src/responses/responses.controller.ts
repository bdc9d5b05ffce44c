import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { TOOLS_HEADER, CONVERSATION_HEADER } from '../chat-completions/chat-completions.service';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { ApiObservabilityHeaders } from '../common/tracing/api-observability-headers.decorator';
import { chatConfig } from '../config/chat.config';
import { MetricsService } from '../metrics/metrics.service';
import { CreateResponseDto } from './dto/create-response.dto';
import { InputItemsQueryDto, RetrieveResponseQueryDto } from './dto/response-queries.dto';
import { DeletedResponseDto, ResponseDto, ResponseInputItemListDto } from './dto/response.dto';
import { TERMINAL_EVENTS } from './response-renderer';
import { ResponseSseWriter } from './response-sse';
import { ResponsesService } from './responses.service';

@ApiTags('responses')
@ApiSessionAuth()
@Controller('v1/responses')
export class ResponsesController {
  constructor(
    private readonly responses: ResponsesService,
    private readonly metrics: MetricsService,
    private readonly log: PinoLogger,
    @Inject(chatConfig.KEY) private readonly config: ConfigType<typeof chatConfig>,
  ) {}

  /**
   * Runs one agent turn and answers as an OpenAI `response`. The turn continues the conversation
   * of `previous_response_id` or `conversation`, or starts a new one; the response header
   * `X-OpenHands-ServerConversation-ID` names it (a chat completion sending that header continues
   * the same conversation). With `stream: true` the events stream as they happen; with
   * `background: true` the answer comes at once (`in_progress`) and the turn runs without the
   * client: poll `GET /v1/responses/{id}` or resume its stream.
   */
  @Post()
  @ApiObservabilityHeaders()
  @HttpCode(200)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({
    type: ResponseDto,
    description:
      'A `response`, or with `stream: true` its events (`response.created`, `response.in_progress`, `response.output_item.added`, … `response.completed`).',
    headers: {
      [CONVERSATION_HEADER]: {
        description: 'The server-side conversation of this response.',
        schema: { type: 'string', format: 'uuid' },
      },
    },
  })
  @ApiHeader({
    name: TOOLS_HEADER,
    required: false,
    description:
      "Which tools the model gets: `server` (the agent's workspace tools), `client` (the request's function tools only) or `both` (default: the profile's `tool_mode`, else both).",
  })
  @ApiBadRequestResponse({
    description:
      'Invalid request, or an unsupported tool type or text format (OpenAI error shape).',
  })
  @ApiNotFoundResponse({
    description: 'Unknown model (`model_not_found`) or previous response (`response_not_found`).',
  })
  @ApiConflictResponse({ description: 'The conversation is running a turn (`conversation_busy`).' })
  @ApiResponse({ status: 502, description: 'The LLM provider failed after retries.' })
  async create(
    @Body() body: CreateResponseDto,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const started = await this.responses.create(body, req.headers);
    res.setHeader(CONVERSATION_HEADER, started.conversationId);
    this.log.assign({ conversation_id: started.conversationId, response_id: started.id });
    const background = body.background === true;
    res.on('close', () => {
      if (!res.writableFinished && !background) started.cancel('client_disconnected');
    });

    if (body.stream) {
      const writer = this.writer(res);
      writer.open();
      const finished = new Promise<void>((resolve) => {
        const stop = started.subscribe((event) => {
          writer.send(event);
          if (TERMINAL_EVENTS.has(event.type)) {
            stop();
            resolve();
          }
        });
        res.on('close', () => {
          stop();
          resolve();
        });
      });
      try {
        await Promise.race([finished, started.done]);
        await finished;
      } catch (err) {
        writer.fail(err, -1);
      }
      writer.end();
      return;
    }
    if (background) {
      res.json(started.snapshot);
      return;
    }
    const { response, failure } = await started.done;
    if (failure) {
      res.setHeader('x-should-retry', 'false'); // the turn ran; a blind retry would run another one
      throw failure;
    }
    res.json(response);
  }

  /**
   * A stored response. With `stream=true`, its events as server-sent events: those after
   * `starting_after` (all without it), then live until the response ends, from whichever replica
   * runs it.
   */
  @Get(':id')
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: ResponseDto })
  @ApiNotFoundResponse({ description: 'No such response (`response_not_found`).' })
  async retrieve(
    @Param('id') id: string,
    @Query() query: RetrieveResponseQueryDto,
    @Res() res: Response,
  ): Promise<void> {
    const response = await this.responses.get(id);
    if (!query.stream) {
      res.json(response);
      return;
    }
    const writer = this.writer(res);
    writer.open();
    let last = query.starting_after ?? -1;
    try {
      for await (const event of this.responses.events(id, last, () => writer.closed)) {
        writer.send(event);
        last = event.sequence_number;
      }
    } catch (err) {
      writer.fail(err, last + 1);
    }
    writer.end();
  }

  /** Deletes a stored response (cancelling it first when it still runs); its conversation stays. */
  @Delete(':id')
  @ApiOkResponse({ type: DeletedResponseDto })
  @ApiNotFoundResponse({ description: 'No such response (`response_not_found`).' })
  delete(@Param('id') id: string): Promise<DeletedResponseDto> {
    return this.responses.delete(id);
  }

  /**
   * Cancels a running response (background or not) in whichever replica runs it, and answers
   * with it once its end is recorded (`cancelled`). A finished response is returned unchanged.
   */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ type: ResponseDto })
  @ApiNotFoundResponse({ description: 'No such response (`response_not_found`).' })
  cancel(@Param('id') id: string): Promise<ResponseDto> {
    return this.responses.cancel(id);
  }

  /** The input items of a stored response, newest first unless `order=asc`, paged by `after`. */
  @Get(':id/input_items')
  @ApiOkResponse({ type: ResponseInputItemListDto })
  @ApiNotFoundResponse({ description: 'No such response (`response_not_found`).' })
  inputItems(
    @Param('id') id: string,
    @Query() query: InputItemsQueryDto,
  ): Promise<ResponseInputItemListDto> {
    return this.responses.inputItems(id, query);
  }

  private writer(res: Response): ResponseSseWriter {
    return new ResponseSseWriter(res, this.config.keepaliveMs, () => this.metrics.keepalive());
  }
}
