/**
 * PostgreSQL text and jsonb cannot hold U+0000, which user data (a file's bytes echoed in a validation error) and
 * sampled completions of byte-level models can contain. It is replaced by U+FFFD so a row is never lost to it.
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '\uFFFD') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}
