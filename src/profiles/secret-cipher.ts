import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { authConfig } from '../config/auth.config';
import { AppError } from '../common/errors/app-error';
import { ownerOnlyDir, ownerOnlyTree } from '../common/owner-only';

const VERSION = 'v1';
const b64 = (buf: Buffer) => buf.toString('base64url');

/**
 * AES-256-GCM for secrets at rest. The key is derived (HKDF-SHA256) from `OH_SECRET_KEY`, else the
 * first session key, else a random key generated once into `<OH_PERSISTENCE_DIR>/secret.key` (0600).
 * Tokens read `v1.<key id>.<iv>.<tag>.<ciphertext>`; the key id tells a changed key from tampering,
 * and the associated data (the profile name) keeps a token from being moved to another profile.
 */
@Injectable()
export class SecretCipher {
  private readonly key: Buffer;
  private readonly keyId: string;

  constructor(@Inject(authConfig.KEY) config: ConfigType<typeof authConfig>) {
    const material = config.secretKey ?? readOrCreateKeyFile(config.generatedKeyFile);
    this.key = Buffer.from(hkdfSync('sha256', material, 'agent-gateway', 'profile-secrets/v1', 32));
    this.keyId = createHash('sha256').update(this.key).digest('hex').slice(0, 8);
  }

  encrypt(plaintext: string, associatedData: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv).setAAD(Buffer.from(associatedData));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.keyId, b64(iv), b64(cipher.getAuthTag()), b64(ciphertext)].join('.');
  }

  /** Throws `secrets.key_mismatch` for another key, `secrets.tampered` for altered tokens. */
  decrypt(token: string, associatedData: string): string {
    const [version, keyId, iv, tag, ciphertext] = token.split('.');
    if (version !== VERSION || !keyId || !iv || !tag || ciphertext === undefined) {
      throw tampered(associatedData);
    }
    if (keyId !== this.keyId) {
      throw new AppError(
        'internal',
        'secrets.key_mismatch',
        `The api key of '${associatedData}' was encrypted under a different OH_SECRET_KEY ` +
          `(key id ${keyId}, current ${this.keyId}). Restore the previous key or save the profile again.`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'))
        .setAAD(Buffer.from(associatedData))
        .setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(ciphertext, 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw tampered(associatedData);
    }
  }
}

const tampered = (name: string) =>
  new AppError(
    'internal',
    'secrets.tampered',
    `The stored api key of '${name}' failed its integrity check (altered in the database?). Save the profile again.`,
  );

function readOrCreateKeyFile(path: string): string {
  ownerOnlyDir(dirname(path));
  try {
    writeFileSync(path, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    ownerOnlyTree(path); // a key file copied in with looser permissions
  }
  const key = readFileSync(path, 'utf8').trim();
  if (key.length < 32)
    throw new Error(`${path} does not hold a usable secret key; remove it to generate a new one`);
  return key;
}
