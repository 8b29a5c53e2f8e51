export { artifactKey, InvalidArtifactKeyError, parseArtifactKey, type ArtifactKey } from './lib/artifact-key';
export {
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  type ArtifactStore,
  type PutOptions,
  type StoredArtifact,
} from './lib/artifact-store';
export { LocalArtifactStore } from './lib/local-artifact-store';
