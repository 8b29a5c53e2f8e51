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
 * Where Tracetune keeps uploads, checkpoints and model weights: a local (or network) filesystem, or an S3-compatible
 * object store shared by every host. Writes are atomic: a reader sees the whole artifact or none of it, and a failed
 * or cut-off write leaves nothing visible behind. Directory artifacts (checkpoints, models) are published whole too.
 */
export interface ArtifactStore {
  /** Where the artifacts live, for logs and health reports (`/data`, `s3://bucket/prefix`). */
  readonly location: string;
  put(key: ArtifactKey, source: Readable | Buffer | string, options?: PutOptions): Promise<StoredArtifact>;
  get(key: ArtifactKey): Promise<Readable>;
  read(key: ArtifactKey): Promise<Buffer>;
  /** Whether a file or a published directory exists under this key. */
  exists(key: ArtifactKey): Promise<boolean>;
  /** Size and last modification of a stored file, or null when absent (or a directory). */
  stat(key: ArtifactKey): Promise<{ bytes: number; modifiedAt: Date } | null>;
  /** File keys under a prefix, recursively, sorted (files of published directories included). */
  list(prefix?: ArtifactKey): Promise<ArtifactKey[]>;
  /** Deletes a key or a whole prefix; deleting what is not there is not an error. */
  delete(key: ArtifactKey): Promise<void>;
  /**
   * Builds a directory artifact (a checkpoint) in a private local staging folder handed to `build`, then publishes
   * it under `key` at once, replacing any previous content; a failed build leaves the previous content in place.
   */
  putDirectory(key: ArtifactKey, build: (stagingDir: string) => Promise<void>): Promise<void>;
  /**
   * Publishes a finished local directory (e.g. a checkpoint the trainer wrote) under `key`, like putDirectory, and
   * consumes it: the folder is gone afterwards (moved into place on a local store, uploaded then removed on S3).
   */
  publishDirectory(key: ArtifactKey, dir: string): Promise<void>;
  /**
   * A local folder holding the published directory artifact `key`, for readers that need files (model loaders):
   * the artifact itself on a local store; on S3 a copy in the local cache, downloaded once per published version and
   * verified against its manifest. Throws ArtifactNotFoundError when no directory is published there.
   */
  localDirectory(key: ArtifactKey): Promise<string>;
  /** The caller is done with `localDirectory(key)`: S3 stores drop the cached copy; the local store keeps its files. */
  releaseLocalDirectory(key: ArtifactKey): Promise<void>;
  /** Throws when the store cannot be reached or written (health checks). */
  check(): Promise<void>;
  /** Releases connections (S3's sockets); the store is not used afterwards. */
  close(): Promise<void>;
}
