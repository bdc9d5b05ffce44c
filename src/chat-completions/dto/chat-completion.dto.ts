import { ApiProperty } from '@nestjs/swagger';
import { ApiExample } from '../../common/http/openapi-document';

const USAGE = {
  prompt_tokens: 9120,
  completion_tokens: 456,
  total_tokens: 9576,
  prompt_tokens_details: { cached_tokens: 6144 },
  completion_tokens_details: { reasoning_tokens: 0 },
  cost_usd: 0.00073,
};
const MESSAGE = {
  role: 'assistant',
  content: 'I wrote primes.py and ran it: 2, 3, 5, 7, 11, 13, 17, 19, 23, 29.',
  refusal: null,
};
const CHOICE = { index: 0, message: MESSAGE, finish_reason: 'stop', logprobs: null };

@ApiExample(USAGE.prompt_tokens_details)
export class PromptTokensDetailsDto {
  @ApiProperty({ type: 'integer' }) cached_tokens!: number;
}

@ApiExample(USAGE.completion_tokens_details)
export class CompletionTokensDetailsDto {
  @ApiProperty({ type: 'integer' }) reasoning_tokens!: number;
}

/** This turn's LLM calls (the condenser's included). */
@ApiExample(USAGE)
export class CompletionUsageDto {
  @ApiProperty({ type: 'integer' }) prompt_tokens!: number;
  @ApiProperty({ type: 'integer' }) completion_tokens!: number;
  @ApiProperty({ type: 'integer' }) total_tokens!: number;
  prompt_tokens_details!: PromptTokensDetailsDto;
  completion_tokens_details!: CompletionTokensDetailsDto;
  /** USD this turn cost (0 when the model is unpriced). An extension to the OpenAI shape. */
  cost_usd!: number;
}

const TOOL_CALL = {
  id: 'call_5f0c1e2d3c4b5a6978877665',
  type: 'function',
  function: { name: 'read_file', arguments: '{"path":"src/app.ts"}' },
};

@ApiExample(TOOL_CALL.function)
export class FunctionCallDto {
  name!: string;
  /** The arguments as JSON text. */
  arguments!: string;
}

/** A call to one of the client's tools: run it and send the result as a `tool` message. */
@ApiExample(TOOL_CALL)
export class ToolCallDto {
  /** Answer with this id as the `tool` message's `tool_call_id`. */
  id!: string;
  @ApiProperty({ enum: ['function'] })
  type!: 'function';
  function!: FunctionCallDto;
}

@ApiExample(MESSAGE)
export class AssistantMessageDto {
  @ApiProperty({ enum: ['assistant'] })
  role!: 'assistant';
  /** The final answer: the `finish` message or the turn's last assistant text (`null` beside tool calls without text). */
  @ApiProperty({ type: String, nullable: true })
  content!: string | null;
  /** Always `null`. */
  @ApiProperty({ type: String, nullable: true })
  refusal!: null;
  /** Calls to the client's tools: the turn paused on them (`finish_reason: "tool_calls"`). */
  tool_calls?: ToolCallDto[];
}

@ApiExample(CHOICE)
export class ChoiceDto {
  @ApiProperty({ type: 'integer' }) index!: number;
  message!: AssistantMessageDto;
  /** `length` when the iteration limit ended the turn; `tool_calls` when it paused on client tool calls. */
  @ApiProperty({ enum: ['stop', 'length', 'tool_calls'] })
  finish_reason!: 'stop' | 'length' | 'tool_calls';
  /** Always `null`. */
  @ApiProperty({ type: Object, nullable: true })
  logprobs!: null;
}

@ApiExample({
  id: 'chatcmpl-3f0c5b4e8a0d4d639a554b7c',
  object: 'chat.completion',
  created: 1767607242,
  model: 'openhands_default',
  choices: [CHOICE],
  usage: USAGE,
  system_fingerprint: null,
})
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
