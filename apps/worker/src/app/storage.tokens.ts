/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');
