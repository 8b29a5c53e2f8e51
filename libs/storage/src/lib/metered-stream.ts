import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';

import { ArtifactTooLargeError, type PutOptions } from './artifact-store';

/** The bytes written so far and their sha256, known once the stream has ended. */
export interface Metered {
  stream: Transform;
  bytes: () => number;
  sha256: () => string;
}

/**
 * A pass-through that counts and hashes what flows into a store, shows each chunk to `observe`, and fails with
 * ArtifactTooLargeError past `maxBytes` (both stores write through one, so they enforce the same limits).
 */
export function meteredStream(options: PutOptions = {}): Metered {
  const hash = createHash('sha256');
  let bytes = 0;
  let digest: string | null = null;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      if (options.maxBytes !== undefined && bytes > options.maxBytes) {
        callback(new ArtifactTooLargeError(options.maxBytes));
        return;
      }
      hash.update(chunk);
      options.observe?.(chunk);
      callback(null, chunk);
    },
  });
  return {
    stream,
    bytes: () => bytes,
    sha256: () => (digest ??= hash.digest('hex')),
  };
}

export function toReadable(source: Readable | Buffer | string): Readable {
  return typeof source === 'string' || Buffer.isBuffer(source)
    ? Readable.from([Buffer.from(source)])
    : source;
}
