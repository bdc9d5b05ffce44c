import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../common/errors/app-error';
import { SecretCipher } from './secret-cipher';

const SECRET = 'sk-live-0123456789abcdef';

function cipher(secretKey: string | undefined, generatedKeyFile = '/nonexistent/secret.key') {
  return new SecretCipher({ sessionKeys: [], secretKey, generatedKeyFile });
}

/** The AppError `fn` throws. */
function failure(fn: () => unknown): AppError {
  try {
    fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

/** Flips one character of the token's part `index` (0 version, 1 key id, 2 iv, 3 tag, 4 ciphertext). */
function tamper(token: string, index: number): string {
  const parts = token.split('.');
  const part = parts[index];
  parts[index] = (part[0] === 'A' ? 'B' : 'A') + part.slice(1);
  return parts.join('.');
}

describe(SecretCipher.name, () => {
  const sut = cipher('a-secret-key-of-sufficient-length');

  it('round-trips a secret and never stores it in plaintext', () => {
    const token = sut.encrypt(SECRET, 'default');
    expect(token).not.toContain(SECRET);
    expect(Buffer.from(token.split('.')[4], 'base64url').toString('utf8')).not.toContain(SECRET);
    expect(sut.decrypt(token, 'default')).toBe(SECRET);
  });

  it('uses a fresh IV for every encryption', () => {
    expect(sut.encrypt(SECRET, 'default')).not.toBe(sut.encrypt(SECRET, 'default'));
  });

  it.each([
    ['the iv', 2],
    ['the auth tag', 3],
    ['the ciphertext', 4],
  ])('detects a change to %s', (_part, index) => {
    const token = sut.encrypt(SECRET, 'default');
    const error = failure(() => sut.decrypt(tamper(token, index), 'default'));
    expect(error.code).toBe('secrets.tampered');
    expect(error.message).toContain("'default'");
    expect(error.message).not.toContain(SECRET);
  });

  it('detects a truncated or foreign token', () => {
    const token = sut.encrypt(SECRET, 'default');
    for (const bad of [
      token.split('.').slice(0, 4).join('.'),
      `v0${token.slice(2)}`,
      'plaintext',
    ]) {
      expect(failure(() => sut.decrypt(bad, 'default')).code).toBe('secrets.tampered');
    }
  });

  it("refuses a token moved to another profile's row", () => {
    const token = sut.encrypt(SECRET, 'alice');
    expect(failure(() => sut.decrypt(token, 'mallory')).code).toBe('secrets.tampered');
  });

  it('gives a clear error, not garbage, when the secret key changed', () => {
    const token = sut.encrypt(SECRET, 'default');
    const error = failure(() =>
      cipher('another-secret-key-after-rotation').decrypt(token, 'default'),
    );
    expect(error.code).toBe('secrets.key_mismatch');
    expect(error.message).toMatch(/'default' was encrypted under a different OH_SECRET_KEY/);
    expect(error.message).not.toContain(SECRET);
    expect(error.message).not.toContain('a-secret-key-of-sufficient-length');
  });

  describe('without a configured key', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'gw-cipher-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('generates a key file with mode 0600 once and reuses it after a restart', () => {
      const file = join(dir, 'nested', 'secret.key');
      const first = cipher(undefined, file);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const key = readFileSync(file, 'utf8');
      expect(key.length).toBeGreaterThanOrEqual(32);

      const token = first.encrypt(SECRET, 'default');
      const restarted = cipher(undefined, file);
      expect(readFileSync(file, 'utf8')).toBe(key);
      expect(restarted.decrypt(token, 'default')).toBe(SECRET);
    });

    it('refuses an unusable key file instead of silently replacing it', () => {
      const file = join(dir, 'secret.key');
      writeFileSync(file, 'short', { mode: 0o600 });
      expect(() => cipher(undefined, file)).toThrow(/does not hold a usable secret key/);
      expect(readFileSync(file, 'utf8')).toBe('short');
    });
  });
});
