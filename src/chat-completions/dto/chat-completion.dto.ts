import { ApiProperty } from '@nestjs/swagger';

export class PromptTokensDetailsDto {
  @ApiProperty({ type: 'integer' }) cached_tokens!: number;
}

export class CompletionTokensDetailsDto {
  @ApiProperty({ type: 'integer' }) reasoning_tokens!: number;
}

/** This turn's LLM calls (the condenser's included). */
export class CompletionUsageDto {
  @ApiProperty({ type: 'integer' }) prompt_tokens!: number;
  @ApiProperty({ type: 'integer' }) completion_tokens!: number;
  @ApiProperty({ type: 'integer' }) total_tokens!: number;
  prompt_tokens_details!: PromptTokensDetailsDto;
  completion_tokens_details!: CompletionTokensDetailsDto;
  /** USD this turn cost (0 when the model is unpriced). An extension to the OpenAI shape. */
  cost_usd!: number;
}

export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';
  /** The final answer: the `finish` message or the turn's last assistant text. */
  content!: string;
  /** Always `null`. */
  @ApiProperty({ type: String, nullable: true })
  refusal!: null;
}

export class ChoiceDto {
  @ApiProperty({ type: 'integer' }) index!: number;
  message!: AssistantMessageDto;
  /** `length` when the iteration limit ended the turn. */
  @ApiProperty({ enum: ['stop', 'length'] })
  finish_reason!: 'stop' | 'length';
  /** Always `null`. */
  @ApiProperty({ type: Object, nullable: true })
  logprobs!: null;
}

export class ChatCompletionDto {
  /** @example "chatcmpl-5f0c…" */
  id!: string;
  @ApiProperty({ enum: ['chat.completion'] })
  object!: 'chat.completion';
  @ApiProperty({ type: 'integer' })
  created!: number;
  model!: string;
  choices!: ChoiceDto[];
  usage!: CompletionUsageDto;
  /** Always `null`. */
  @ApiProperty({ type: String, nullable: true })
  system_fingerprint!: null;
}
