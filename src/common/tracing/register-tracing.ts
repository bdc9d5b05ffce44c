// Imported first by main.ts: the HTTP instrumentation must be in place before `http` is used.
import { loadEnv } from '../../config/load-env';

try {
  const env = loadEnv();
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
    // Loaded only when tracing is on: the SDK takes a while to load, and most starts do without it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('./start-tracing') as typeof import('./start-tracing')).startTracing(env);
  }
} catch (err) {
  // Invalid configuration is main.ts's to report (every bad variable at once); anything else is not.
  if ((err as Error).name !== 'InvalidConfigError') throw err;
}
