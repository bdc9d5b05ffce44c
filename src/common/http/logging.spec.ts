import { Writable } from 'node:stream';
import type { Options } from 'pino-http';
import pino from 'pino';
import { QueryFailedError } from 'typeorm';
import { AppError } from '../errors/app-error';
import { loggingParams } from './logging';

/** A logger configured exactly as the app's (serializers, redaction), writing into an array. */
function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const options = loggingParams('trace').pinoHttp as Options;
  const logger = pino(
    { level: 'trace', serializers: options.serializers, redact: options.redact },
    sink,
  );
  return { logger, lines };
}

/** What node-postgres hands TypeORM when PostgreSQL refuses a row. */
function uniqueViolation(): Error {
  return Object.assign(new Error('duplicate key value violates unique constraint "uq_name"'), {
    code: '23505',
    severity: 'ERROR',
    detail: 'Key (name)=(row-value-in-detail) already exists.',
    where: 'SQL statement "INSERT … VALUES (where-context-value)"',
    table: 'llm_profiles',
    constraint: 'uq_name',
    routine: '_bt_check_unique',
  });
}

describe('log serialization of errors', () => {
  const sql =
    'INSERT INTO "llm_profiles"("name", "config", "api_key_encrypted") VALUES ($1, $2, $3)';
  const parameters = ['prompt-text-param', '{"model":"gpt-4o"}', 'v1:ciphertext-param'];
  const VALUES = [...parameters, 'row-value-in-detail', 'where-context-value'];

  it('keeps the SQL, code and constraint of a failed query, never its parameters or the driver detail', () => {
    const { logger, lines } = capture();
    logger.error({ err: new QueryFailedError(sql, parameters, uniqueViolation()) }, 'failed');
    const [line] = lines;
    for (const value of VALUES) expect(line).not.toContain(value);
    const { err } = JSON.parse(line) as { err: Record<string, unknown> };
    expect(err).toMatchObject({
      message: 'duplicate key value violates unique constraint "uq_name"',
      code: '23505',
      table: 'llm_profiles',
      constraint: 'uq_name',
      query: sql,
      stack: expect.stringContaining('QueryFailedError'),
    });
    expect(err).not.toHaveProperty('parameters');
    expect(err).not.toHaveProperty('driverError');
  });

  it('does the same when the failed query is the cause of another error', () => {
    const { logger, lines } = capture();
    const wrapped = new AppError('internal', 'server.internal', 'Internal server error.', {});
    Object.assign(wrapped, { cause: new QueryFailedError(sql, parameters, uniqueViolation()) });
    logger.error({ err: wrapped }, 'failed');
    for (const value of VALUES) expect(lines[0]).not.toContain(value);
    expect(lines[0]).toContain('uq_name');
  });

  it('leaves other errors as pino serializes them', () => {
    const { logger, lines } = capture();
    logger.error({ err: Object.assign(new Error('boom'), { statusCode: 502 }) }, 'failed');
    const { err } = JSON.parse(lines[0]) as { err: Record<string, unknown> };
    expect(err).toMatchObject({ type: 'Error', message: 'boom', statusCode: 502 });
  });
});
