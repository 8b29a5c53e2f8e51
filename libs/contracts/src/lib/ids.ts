import { randomBytes } from 'node:crypto';

/** Prefixes of the opaque ids the API hands out (docs/api-contract.md). */
export const ID_PREFIX = {
  organization: 'org',
  apiKey: 'key',
  file: 'file',
  job: 'ftjob',
  event: 'ftevent',
  checkpoint: 'ftckpt',
  checkpointPermission: 'cp',
  metric: 'ftmetric',
  chatCompletion: 'chatcmpl',
  completion: 'cmpl',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random base62 string; 24 characters carry ~143 bits. */
export function randomToken(length = 24): string {
  const bytes = randomBytes(length * 2);
  let out = '';
  for (let i = 0; i < bytes.length && out.length < length; i++) {
    // Rejection sampling keeps every character equally likely (248 = 4 × 62).
    if (bytes[i] < 248) out += ALPHABET[bytes[i] % 62];
  }
  return out.length === length ? out : out + randomToken(length - out.length);
}

export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}-${randomToken()}`;
}
