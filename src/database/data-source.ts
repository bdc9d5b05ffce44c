import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { databaseConfig } from '../config/database.config';
import { databaseOptions } from './database-options';

/** For the TypeORM CLI (`npm run migration:*`), on the built output; the app uses DatabaseModule. */
export default new DataSource({
  ...databaseOptions(databaseConfig()),
  migrationsRun: false,
  entities: [join(__dirname, '..', '**', '*.entity.js')],
});
