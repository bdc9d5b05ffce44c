import { Module } from '@nestjs/common';
import { ProfilesModule } from '../profiles/profiles.module';
import { LanguageModelFactory } from './language-model.factory';
import { LlmClient } from './llm-client';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  imports: [ProfilesModule],
  controllers: [ModelsController],
  providers: [ModelsService, LanguageModelFactory, LlmClient],
  exports: [ModelsService, LlmClient],
})
export class ModelsModule {}
