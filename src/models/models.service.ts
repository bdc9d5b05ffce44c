import { Injectable } from '@nestjs/common';
import type { LlmProfile } from '../profiles/llm-profile.entity';
import { ProfilesService } from '../profiles/profiles.service';
import type { ModelDto } from './dto/model.dto';
import { modelIdOf, profileNameOf } from './model-id';
import { modelNotFound } from './models.errors';

@Injectable()
export class ModelsService {
  constructor(private readonly profiles: ProfilesService) {}

  async list(): Promise<ModelDto[]> {
    return (await this.profiles.list())
      .map(toModel)
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async get(id: string): Promise<ModelDto> {
    const name = profileNameOf(id);
    const profile = name ? await this.profiles.find(name) : null;
    if (!profile) throw modelNotFound(id);
    return toModel(profile);
  }
}

const toModel = (profile: LlmProfile): ModelDto => ({
  id: modelIdOf(profile.name),
  object: 'model',
  created: Math.floor(profile.createdAt.getTime() / 1000),
  owned_by: 'openhands',
});
