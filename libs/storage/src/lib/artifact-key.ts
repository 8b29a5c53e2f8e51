/**
 * Artifact keys are relative paths made of safe segments only: letters, digits, `.`, `_`, `-`, and never starting
 * with a dot. `..`, absolute paths, backslashes and empty segments cannot be expressed, so no key can leave the store's
 * root: path traversal is impossible by construction, not by checking resolved paths afterwards.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export class InvalidArtifactKeyError extends Error {
  constructor(key: string, reason: string) {
    super(`invalid artifact key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidArtifactKeyError';
  }
}

export type ArtifactKey = string & { readonly __brand: 'ArtifactKey' };

export function artifactKey(...segments: string[]): ArtifactKey {
  if (segments.length === 0) throw new InvalidArtifactKeyError('', 'a key needs at least one segment');
  const parts = segments.flatMap((segment) => segment.split('/'));
  for (const part of parts) {
    if (!SEGMENT.test(part)) {
      throw new InvalidArtifactKeyError(
        segments.join('/'),
        `segment ${JSON.stringify(part)} must be 1-200 characters of letters, digits, ".", "_" or "-" and not start with "."`,
      );
    }
  }
  return parts.join('/') as ArtifactKey;
}

/** Parses a key read back from the database or a request. */
export function parseArtifactKey(key: string): ArtifactKey {
  return artifactKey(key);
}
