import type { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';
import { createS3Client, S3ArtifactStore, type S3Settings } from './s3-artifact-store';

/** What the apps hand over from their configuration (libs/config's `artifactStoreSettings`). */
export interface ArtifactStoreSettings {
  /** `local` (files under dataDir) or `s3://bucket[/prefix]`. */
  storage: string;
  /** The local store's root; with S3, the local cache of downloaded directories and staging area. */
  dataDir: string;
  s3: S3Settings;
}

/** Splits `s3://bucket/some/prefix` into bucket and prefix; null for anything else. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | null {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  return match ? { bucket: match[1], prefix: match[2].replace(/\/+$/, '') } : null;
}

export function createArtifactStore(settings: ArtifactStoreSettings): ArtifactStore {
  if (settings.storage === 'local') return new LocalArtifactStore(settings.dataDir);
  const s3 = parseS3Url(settings.storage);
  if (!s3) throw new Error(`unsupported artifact storage ${JSON.stringify(settings.storage)}`);
  return new S3ArtifactStore({ ...s3, client: createS3Client(settings.s3), cacheDir: settings.dataDir });
}
