import { z } from 'zod';

/** C0 control characters and DEL: never part of an id, a name or a cursor (PostgreSQL refuses NUL outright). */
// eslint-disable-next-line no-control-regex
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/** Longest id, cursor or model name accepted anywhere (model ids may be `ft:<base>:<org>:<suffix>:<job>:ckpt-step-N`). */
export const MAX_ID_CHARS = 256;

/** Why `value` cannot be an id (a path segment, a cursor, a model or file reference), or null when it can. */
export function idProblem(value: string): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_ID_CHARS) return `must be at most ${MAX_ID_CHARS} characters`;
  if (CONTROL_CHARACTERS.test(value)) return 'must not contain control characters';
  return null;
}

/** An id-like string: 1–256 characters, no control characters. */
export function idString() {
  return z
    .string()
    .min(1)
    .max(MAX_ID_CHARS)
    .refine((value) => !CONTROL_CHARACTERS.test(value), 'must not contain control characters');
}

/** Free text that is stored (names, metadata): any characters but NUL, which PostgreSQL cannot store. */
export function storableText() {
  return z.string().refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');
}
