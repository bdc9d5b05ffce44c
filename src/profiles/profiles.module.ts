import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LlmProfile } from './llm-profile.entity';
import { ProfilesController } from './profiles.controller';
import { ProfilesRepository } from './profiles.repository';
import { ProfilesService } from './profiles.service';
import { SecretCipher } from './secret-cipher';

@Module({
  imports: [TypeOrmModule.forFeature([LlmProfile])],
  controllers: [ProfilesController],
  providers: [ProfilesService, ProfilesRepository, SecretCipher],
  exports: [ProfilesService],
})
export class ProfilesModule {}
