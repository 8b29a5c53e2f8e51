import { Global, Module } from '@nestjs/common';

import { Config } from '@tracetune/config';
import { LocalArtifactStore } from '@tracetune/storage';

/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');

@Global()
@Module({
  providers: [
    {
      provide: ARTIFACT_STORE,
      inject: [Config],
      useFactory: (config: Config) => new LocalArtifactStore(config.get('TRACETUNE_DATA_DIR')),
    },
  ],
  exports: [ARTIFACT_STORE],
})
export class StorageModule {}
