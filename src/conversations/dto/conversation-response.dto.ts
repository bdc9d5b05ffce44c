import { ApiProperty } from '@nestjs/swagger';
import type { TokenCounts, UsageRow } from '../usage.types';
import type { Conversation } from '../entities/conversation.entity';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../events.types';
import { ApiExample } from '../../common/http/openapi-document';

const ID = '3f0c5b4e-8a0d-4d63-9a55-4b7c3c1f2a10';
const TOKENS = {
  prompt_tokens: 18240,
  completion_tokens: 912,
  cache_read_tokens: 12288,
  cache_write_tokens: 0,
  reasoning_tokens: 0,
};
const METRICS = {
  model_name: 'openai/gpt-4o-mini',
  accumulated_cost: 0.00146,
  accumulated_token_usage: TOKENS,
};
const CONVERSATION = {
  id: ID,
  title: 'Write a Python script that prints the first 10 primes',
  execution_status: 'finished',
  profile: 'default',
  model: 'openai/gpt-4o-mini',
  workspace: { working_dir: `/srv/agent-gateway/workspace/${ID}` },
  created_at: '2026-01-05T10:00:00.000Z',
  updated_at: '2026-01-05T10:00:42.000Z',
  stats: { usage_to_metrics: { agent: METRICS } },
};

@ApiExample(TOKENS)
export class TokenUsageDto implements TokenCounts {
  @ApiProperty({ type: 'integer' }) prompt_tokens!: number;
  @ApiProperty({ type: 'integer' }) completion_tokens!: number;
  @ApiProperty({ type: 'integer' }) cache_read_tokens!: number;
  @ApiProperty({ type: 'integer' }) cache_write_tokens!: number;
  @ApiProperty({ type: 'integer' }) reasoning_tokens!: number;
}

@ApiExample(METRICS)
export class UsageMetricsDto {
  /** The LiteLLM model name of the calls. */
  model_name!: string;
  /** USD over every call of this usage id (0 for unpriced models). */
  accumulated_cost!: number;
  accumulated_token_usage!: TokenUsageDto;
}

@ApiExample(CONVERSATION.stats)
export class ConversationStatsDto {
  /** Per usage id (`agent`, `condenser`, …). */
  @ApiProperty({
    type: 'object',
    additionalProperties: { $ref: '#/components/schemas/UsageMetricsDto' },
  })
  usage_to_metrics!: Record<string, UsageMetricsDto>;
}

@ApiExample(CONVERSATION.workspace)
export class WorkspaceDto {
  /** Absolute path of the conversation's workspace on the server. */
  working_dir!: string;
}

@ApiExample(CONVERSATION)
export class ConversationResponseDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;
  title!: string | null;
  @ApiProperty({ enum: EXECUTION_STATUSES, enumName: 'ExecutionStatus' })
  execution_status!: ExecutionStatus;
  /** The profile of the latest turn. */
  profile!: string;
  /** The LiteLLM model name of the latest turn. */
  model!: string;
  workspace!: WorkspaceDto;
  created_at!: Date;
  updated_at!: Date;
  stats!: ConversationStatsDto;

  static from(c: Conversation, usage: UsageRow[]): ConversationResponseDto {
    const metrics: Record<string, UsageMetricsDto> = {};
    for (const u of usage.filter((row) => row.conversationId === c.id)) {
      metrics[u.usageId] = {
        model_name: u.model,
        accumulated_cost: u.costUsd,
        accumulated_token_usage: {
          prompt_tokens: u.promptTokens,
          completion_tokens: u.completionTokens,
          cache_read_tokens: u.cacheReadTokens,
          cache_write_tokens: u.cacheWriteTokens,
          reasoning_tokens: u.reasoningTokens,
        },
      };
    }
    return {
      id: c.id,
      title: c.title,
      execution_status: c.executionStatus,
      profile: c.profileName,
      model: c.model,
      workspace: { working_dir: c.workspaceDir },
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      stats: { usage_to_metrics: metrics },
    };
  }
}

@ApiExample({ items: [CONVERSATION], next_page_id: null })
export class ConversationPageDto {
  items!: ConversationResponseDto[];
  /** Pass as `page_id` for the next page; `null` on the last one. */
  next_page_id!: string | null;
}

@ApiExample({ success: true })
export class SuccessDto {
  success!: boolean;
}

@ApiExample({ success: true, cancelled: true, execution_status: 'cancelled' })
export class CancelResultDto {
  success!: boolean;
  /** Whether a running turn was stopped. */
  cancelled!: boolean;
  @ApiProperty({ enum: EXECUTION_STATUSES, enumName: 'ExecutionStatus' })
  execution_status!: ExecutionStatus;
}

@ApiExample({ response: 'The script prints 2, 3, 5, 7, 11, 13, 17, 19, 23, 29.' })
export class AgentFinalResponseDto {
  /**
   * The answer of the latest finished turn (the `finish` tool's message or the last assistant
   * text); empty when no turn has finished with one.
   * @example "The tests pass now: the off-by-one in parse_range is fixed."
   */
  response!: string;
}
