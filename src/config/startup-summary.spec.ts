import { formatStartupSummary, startupSummary } from './startup-summary';

const base = { OH_PERSISTENCE_DIR: '/srv/gw/data', HOST: '127.0.0.1', sessionKeys: [] as string[] };

describe('the start-up line', () => {
  it('names the URL, the embedded database path, the sandbox, open access and the docs', () => {
    expect(formatStartupSummary(startupSummary(base, 8000, 'none (native sandbox program)'))).toBe(
      'agent-gateway listening on http://127.0.0.1:8000 · database: embedded PGlite at ' +
        '/srv/gw/data/pglite · sandbox: none (native sandbox program) · auth: OPEN (no session ' +
        'key; loopback only) · ' +
        'docs: http://127.0.0.1:8000/docs',
    );
  });

  it('names PostgreSQL by host, port and database, never with its password; counts the keys', () => {
    const summary = startupSummary(
      {
        ...base,
        HOST: '0.0.0.0',
        DATABASE_URL: 'postgres://gateway:s3cret-pw@db.internal:6543/gateway?sslmode=require',
        sessionKeys: ['a'.repeat(20), 'b'.repeat(20)],
      },
      8000,
      'bwrap',
    );
    expect(summary).toEqual({
      url: 'http://0.0.0.0:8000',
      database: 'PostgreSQL db.internal:6543/gateway',
      sandbox: 'bwrap',
      auth: '2 session keys',
      docs: 'http://0.0.0.0:8000/docs',
    });
    expect(formatStartupSummary(summary)).not.toMatch(/s3cret|aaaa|sslmode/);
  });

  it('brackets an IPv6 host and says when the embedded database is in memory', () => {
    const summary = startupSummary(
      { ...base, HOST: '::1', PGLITE_DATA_DIR: 'memory://' },
      9,
      'none',
    );
    expect(summary.url).toBe('http://[::1]:9');
    expect(summary.database).toBe('embedded PGlite in memory');
  });
});
