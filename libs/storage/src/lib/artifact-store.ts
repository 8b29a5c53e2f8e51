import type { Readable } from 'node:stream';

import type { ArtifactKey } from './artifact-key';

export interface StoredArtifact {
  key: ArtifactKey;
  bytes: number;
  sha256: string;
}

export interface PutOptions {
  /** Abort with {@link ArtifactTooLargeError} once the stream passes this many bytes; nothing is left behind. */
  maxBytes?: number;
  /** Sees every chunk as it is written (e.g. a validator reading the upload in the same pass). */
  observe?: (chunk: Buffer) => void;
}

export class ArtifactTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`artifact exceeds the limit of ${maxBytes} bytes`);
    this.name = 'ArtifactTooLargeError';
  }
}

export class ArtifactNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`artifact ${key} not found`);
    this.name = 'ArtifactNotFoundError';
  }
}

/**
 * Where Tracetune keeps uploads, checkpoints and model weights. Writes are atomic: a reader sees the whole artifact
 * or none of it, and a failed or cut-off write leaves nothing behind.
 */
export interface ArtifactStore {
  put(key: ArtifactKey, source: Readable | Buffer | string, options?: PutOptions): Promise<StoredArtifact>;
  get(key: ArtifactKey): Promise<Readable>;
  read(key: ArtifactKey): Promise<Buffer>;
  exists(key: ArtifactKey): Promise<boolean>;
  /** Size and last modification of a stored file, or null when absent. */
  stat(key: ArtifactKey): Promise<{ bytes: number; modifiedAt: Date } | null>;
  /** Keys under a prefix, recursively, sorted. */
  list(prefix?: ArtifactKey): Promise<ArtifactKey[]>;
  /** Deletes a key or a whole prefix; deleting what is not there is not an error. */
  delete(key: ArtifactKey): Promise<void>;
  /**
   * Builds a directory artifact (a checkpoint) in a private staging folder handed to `build`, then publishes it
   * under `key` in one rename, replacing any previous content.
   */
  putDirectory(key: ArtifactKey, build: (stagingDir: string) => Promise<void>): Promise<void>;
  /** A local filesystem path for readers that need one (model loaders); stores without local files throw. */
  localPath(key: ArtifactKey): string;
}
