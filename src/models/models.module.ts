import { Module } from '@nestjs/common';
import { ProfilesModule } from '../profiles/profiles.module';
import { LanguageModelFactory } from './language-model.factory';
import type { ConfigType } from '@nestjs/config';
import { llmConfig } from '../config/chat.config';
import { MetricsModule } from '../metrics/metrics.module';
import { LLM_CLIENT_OPTIONS, LlmClient, type LlmClientOptions } from './llm-client.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  imports: [ProfilesModule, MetricsModule],
  controllers: [ModelsController],
  providers: [
    ModelsService,
    LanguageModelFactory,
    LlmClient,
    {
      provide: LLM_CLIENT_OPTIONS,
      inject: [llmConfig.KEY],
      useFactory: (llm: ConfigType<typeof llmConfig>): Partial<LlmClientOptions> => ({
        backoffBaseMs: llm.backoffBaseMs,
      }),
    },
  ],
  exports: [ModelsService, LlmClient],
})
export class ModelsModule {}
