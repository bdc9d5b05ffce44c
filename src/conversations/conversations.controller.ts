import {
  Controller,
  Delete,
  Get,
  Header,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiExtraModels,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { AppError } from '../common/errors/app-error';
import { EVENT_KINDS } from './events.types';
import { invalidPageId } from './conversations.errors';
import { ConversationsService } from './conversations.service';
import {
  AgentFinalResponseDto,
  CancelResultDto,
  ConversationPageDto,
  ConversationResponseDto,
  SuccessDto,
  UsageMetricsDto,
} from './dto/conversation-response.dto';
import { EventDto, EventPageDto, SearchEventsQueryDto } from './dto/event-page.dto';
import {
  BatchGetConversationsQueryDto,
  CountConversationsQueryDto,
  SearchConversationsQueryDto,
} from './dto/search-conversations-query.dto';

const uuid = new ParseUUIDPipe({
  exceptionFactory: (e) =>
    new AppError('invalid', 'conversations.invalid_id', `Invalid conversation id: ${e}`),
});

@ApiTags('conversations')
@ApiSessionAuth()
@ApiExtraModels(UsageMetricsDto)
@Controller('api/conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  /** Conversations, newest first by default, in pages (`next_page_id`). */
  @Get('search')
  async search(@Query() q: SearchConversationsQueryDto): Promise<ConversationPageDto> {
    const limit = q.limit ?? 100;
    const order = q.sort_order ?? 'CREATED_AT_DESC';
    if (q.page_id && !(await this.conversations.find(q.page_id))) throw invalidPageId(q.page_id);
    const rows = await this.conversations.search({
      limit: limit + 1,
      status: q.status,
      sortBy: order.startsWith('UPDATED_AT') ? 'updated_at' : 'created_at',
      ascending: !order.endsWith('_DESC'),
      afterId: q.page_id,
    });
    const page = rows.slice(0, limit);
    const usage = await this.conversations.usage(page.map((c) => c.id));
    return {
      items: page.map((c) => ConversationResponseDto.from(c, usage)),
      next_page_id: rows.length > limit ? (page.at(-1)?.id ?? null) : null,
    };
  }

  /**
   * Several conversations at once, in the order asked; `null` for an id that does not exist.
   * Like the reference's batch read.
   */
  @Get()
  @ApiOkResponse({
    schema: {
      type: 'array',
      items: { allOf: [{ $ref: getSchemaPath(ConversationResponseDto) }], nullable: true },
    },
  })
  async batchGet(
    @Query() q: BatchGetConversationsQueryDto,
  ): Promise<(ConversationResponseDto | null)[]> {
    const found = await this.conversations.getMany(q.ids);
    const usage = await this.conversations.usage(found.flatMap((c) => (c ? [c.id] : [])));
    return found.map((c) => (c ? ConversationResponseDto.from(c, usage) : null));
  }

  /** How many conversations there are (optionally with one status), as a JSON number. */
  @Get('count')
  @Header('Content-Type', 'application/json; charset=utf-8')
  @ApiOkResponse({ schema: { type: 'integer', example: 3 } })
  async count(@Query() q: CountConversationsQueryDto): Promise<string> {
    // A bare number would go out as text/html; JSON text under a JSON content type instead.
    return JSON.stringify(await this.conversations.count(q.status));
  }

  /** One conversation with its status, usage and cost. */
  @Get(':id')
  @ApiNotFoundResponse({ description: 'No such conversation.' })
  async get(@Param('id', uuid) id: string): Promise<ConversationResponseDto> {
    const conversation = await this.conversations.get(id);
    return ConversationResponseDto.from(conversation, await this.conversations.usage([id]));
  }

  /** The answer of the latest finished turn, as the reference's clients read it. */
  @Get(':id/agent_final_response')
  @ApiNotFoundResponse({ description: 'No such conversation.' })
  async finalResponse(@Param('id', uuid) id: string): Promise<AgentFinalResponseDto> {
    return { response: await this.conversations.finalAnswer(id) };
  }

  /** The turn-by-turn event log, oldest first: messages, LLM responses, tool calls and results, errors. */
  @Get(':id/events/search')
  @ApiNotFoundResponse({ description: 'No such conversation.' })
  async events(
    @Param('id', uuid) id: string,
    @Query() q: SearchEventsQueryDto,
  ): Promise<EventPageDto> {
    const limit = q.limit ?? 100;
    const kinds = q.kind
      ? q.kind
          .split(',')
          .map((k) => k.trim())
          .filter(Boolean)
      : null;
    const unknown = kinds?.filter((k) => !(EVENT_KINDS as readonly string[]).includes(k)) ?? [];
    if (unknown.length > 0) {
      throw new AppError(
        'invalid',
        'conversations.invalid_kind',
        `Unknown event kind(s): ${unknown.join(', ')}. Kinds: ${EVENT_KINDS.join(', ')}.`,
        { param: 'kind' },
      );
    }
    const rows = await this.conversations.events(id, Number(q.page_id ?? 0), limit + 1, kinds);
    const page = rows.slice(0, limit);
    return {
      items: page.map(EventDto.from),
      next_page_id: rows.length > limit ? String(page.at(-1)?.seq) : null,
    };
  }

  /** Cancels the running turn: the LLM request is aborted and the shell's processes are killed. */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiNotFoundResponse({ description: 'No such conversation.' })
  async cancel(@Param('id', uuid) id: string): Promise<CancelResultDto> {
    await this.conversations.get(id);
    const cancelled = await this.conversations.cancel(id);
    const { executionStatus } = await this.conversations.get(id);
    return { success: true, cancelled, execution_status: executionStatus };
  }

  /** Deletes the conversation, its events and its workspace (cancelling a running turn first). */
  @Delete(':id')
  @ApiNotFoundResponse({ description: 'No such conversation.' })
  async delete(@Param('id', uuid) id: string): Promise<SuccessDto> {
    await this.conversations.delete(id);
    return { success: true };
  }
}
