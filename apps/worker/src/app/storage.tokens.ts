/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');

/** The worker's {@link WorkerCapabilities}, decided at boot from the backend that loads. */
export const WORKER_CAPABILITIES = Symbol('WorkerCapabilities');
