import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiTags,
} from '@nestjs/swagger';
import { ApiSessionAuth } from '../common/auth/api-key-auth.decorator';
import { ProfileNameParamDto } from './dto/profile-name.dto';
import {
  ProfileDetailDto,
  ProfileListDto,
  ProfileMessageDto,
  ProfileSavedDto,
  ProfileSummaryDto,
} from './dto/profile-response.dto';
import { SaveProfileDto } from './dto/save-profile.dto';
import { ProfilesService } from './profiles.service';

@ApiTags('profiles')
@ApiSessionAuth()
@Controller('api/profiles')
export class ProfilesController {
  constructor(private readonly profiles: ProfilesService) {}

  /** All stored LLM profiles, sorted by name. Keys are never returned. */
  @Get()
  async list(): Promise<ProfileListDto> {
    return { profiles: (await this.profiles.list()).map(ProfileSummaryDto.from) };
  }

  /** One profile's settings; `api_key` is always `null`, `api_key_set` says whether one is stored. */
  @Get(':name')
  @ApiNotFoundResponse({ description: 'No such profile.' })
  async get(@Param() { name }: ProfileNameParamDto): Promise<ProfileDetailDto> {
    return ProfileDetailDto.from(await this.profiles.get(name));
  }

  /**
   * Creates or overwrites a profile. It then appears in `GET /v1/models` as `openhands_<name>`.
   * The api key is encrypted (AES-256-GCM) before it is stored.
   */
  @Post(':name')
  @ApiCreatedResponse({ type: ProfileSavedDto })
  @ApiBadRequestResponse({ description: 'Bad name or body, or an unsupported provider prefix.' })
  @ApiConflictResponse({ description: 'The profile limit is reached.' })
  async save(
    @Param() { name }: ProfileNameParamDto,
    @Body() body: SaveProfileDto,
  ): Promise<ProfileSavedDto> {
    const { created, warnings } = await this.profiles.save(
      name,
      body.llm,
      body.include_secrets ?? true,
    );
    return { name, message: `Profile '${name}' ${created ? 'created' : 'updated'}.`, warnings };
  }

  /** Deletes a profile; deleting a missing one succeeds too. */
  @Delete(':name')
  @HttpCode(200)
  async delete(@Param() { name }: ProfileNameParamDto): Promise<ProfileMessageDto> {
    const { deleted } = await this.profiles.delete(name);
    return {
      name,
      message: deleted ? `Profile '${name}' deleted.` : `Profile '${name}' did not exist.`,
    };
  }
}
