import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { stopTracing } from './spans';

/** Flushes the buffered spans when the application shuts down. */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await stopTracing();
  }
}
