export { artifactKey, InvalidArtifactKeyError, parseArtifactKey, type ArtifactKey } from './lib/artifact-key';
export {
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  type ArtifactStore,
  type PutOptions,
  type StoredArtifact,
} from './lib/artifact-store';
export { createArtifactStore, parseS3Url, type ArtifactStoreSettings } from './lib/create-artifact-store';
export { LocalArtifactStore } from './lib/local-artifact-store';
export {
  createS3Client,
  S3ArtifactStore,
  type S3ArtifactStoreOptions,
  type S3Settings,
} from './lib/s3-artifact-store';
export {
  extractTar,
  folderTarEntries,
  tarHeader,
  gunzipIfCompressed,
  safeArchivePath,
  type TarEntry,
  TarFormatError,
  tarSize,
  tarStream,
  TarTooLargeError,
} from './lib/tar';
