import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { BearerStrategy } from './bearer.strategy';
import { SessionKeyGuard } from './session-key.guard';
import { SessionKeys } from './session-keys';

@Module({
  imports: [PassportModule],
  providers: [SessionKeys, BearerStrategy, { provide: APP_GUARD, useClass: SessionKeyGuard }],
})
export class AuthModule {}
