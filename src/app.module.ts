import { Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthModule } from './auth/auth.module';
import { loggingParams } from './common/http/logging';
import { RateLimitModule } from './common/http/rate-limit.module';
import { ObservabilityInterceptor } from './common/tracing/observability.interceptor';
import { TracingShutdown } from './common/tracing/tracing-shutdown';
import { agentConfig } from './config/agent.config';
import { appConfig } from './config/app.config';
import { authConfig } from './config/auth.config';
import { chatConfig, llmConfig } from './config/chat.config';
import { databaseConfig } from './config/database.config';
import { limitsConfig } from './config/limits.config';
import { DatabaseModule } from './database/database.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ChatCompletionsModule } from './chat-completions/chat-completions.module';
import { ConversationsModule } from './conversations/conversations.module';
import { ModelsModule } from './models/models.module';
import { ProfilesModule } from './profiles/profiles.module';
import { ResponsesModule } from './responses/responses.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      ignoreEnvFile: true, // load-env.ts reads .env itself, once, with validation
      load: [
        appConfig,
        databaseConfig,
        authConfig,
        agentConfig,
        chatConfig,
        llmConfig,
        limitsConfig,
      ],
    }),
    LoggerModule.forRootAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => loggingParams(app.logLevel),
    }),
    DatabaseModule,
    AuthModule,
    RateLimitModule, // after AuthModule: its guard runs second and sees the accepted key
    HealthModule,
    ProfilesModule,
    ModelsModule,
    ConversationsModule,
    ChatCompletionsModule,
    ResponsesModule,
    MetricsModule,
  ],
  providers: [{ provide: APP_INTERCEPTOR, useClass: ObservabilityInterceptor }, TracingShutdown],
})
export class AppModule {}
