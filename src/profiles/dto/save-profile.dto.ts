import { Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsObject, IsOptional, ValidateNested } from 'class-validator';
import { LlmConfigDto } from './llm-config.dto';
import { ApiExample } from '../../common/http/openapi-document';

@ApiExample({
  llm: { model: 'openai/gpt-4o-mini', api_key: 'sk-your-provider-key' },
  include_secrets: true,
})
export class SaveProfileDto {
  /** The LLM this profile calls. */
  @IsDefined()
  @IsObject() // @ValidateNested alone lets an array through (`"llm": []`), which then crashed
  @ValidateNested()
  @Type(() => LlmConfigDto)
  llm!: LlmConfigDto;

  /** Store the api key too (encrypted). `false` stores the profile without it. @default true */
  @IsOptional()
  @IsBoolean()
  include_secrets?: boolean;
}
