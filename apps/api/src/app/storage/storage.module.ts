import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';

import { artifactStoreSettings, Config } from '@tracetune/config';
import { createArtifactStore, type ArtifactStore } from '@tracetune/storage';

/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');

/** The artifact store TRACETUNE_STORAGE names: local files under TRACETUNE_DATA_DIR, or S3 shared by every host. */
@Global()
@Module({
  providers: [
    {
      provide: ARTIFACT_STORE,
      inject: [Config],
      useFactory: (config: Config) => createArtifactStore(artifactStoreSettings(config)),
    },
  ],
  exports: [ARTIFACT_STORE],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(ARTIFACT_STORE) private readonly store: ArtifactStore) {}

  onApplicationShutdown(): Promise<void> {
    return this.store.close();
  }
}
