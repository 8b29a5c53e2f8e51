import { createHash } from 'node:crypto';

import { randomToken } from '@tracetune/contracts';

export const API_KEY_PREFIX = 'tt-';

/** A new secret key: `tt-` + 48 base62 characters (~285 bits). */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomToken(48)}`;
}

/** Keys are long random strings, so a plain SHA-256 is a safe way to store them (no password stretching needed). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What lists show to tell keys apart. */
export function keyPrefix(key: string): string {
  return key.slice(0, 10);
}

/** `tt-abc…xyz`, safe to echo in an error. */
export function redactKey(key: string): string {
  return key.length <= 12 ? `${key.slice(0, 3)}…` : `${key.slice(0, 6)}…${key.slice(-4)}`;
}
