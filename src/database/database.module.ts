import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { databaseConfig } from '../config/database.config';
import { databaseOptions, type DatabaseConfig } from './database-options';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [databaseConfig.KEY],
      useFactory: (config: DatabaseConfig) => ({
        ...databaseOptions(config),
        autoLoadEntities: true,
        retryAttempts: config.retryAttempts,
        retryDelay: 1000,
      }),
    }),
  ],
})
export class DatabaseModule {}
