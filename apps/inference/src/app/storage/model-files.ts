import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

import type { ModelRef } from '@tracetune/serving';
import { artifactKey, type ArtifactStore } from '@tracetune/storage';

/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');

/**
 * Makes a model's weights readable by the engine threads before a request reaches them: with local storage they are
 * read in place; with S3 the published directory is downloaded once into this host's cache (TRACETUNE_DATA_DIR) and
 * reused until a new version of it is published. Runs on the HTTP thread (I/O only; engines never wait on the network).
 */
@Injectable()
export class ModelFiles implements OnApplicationShutdown {
  constructor(@Inject(ARTIFACT_STORE) readonly store: ArtifactStore) {}

  async resolve(model: ModelRef): Promise<ModelRef> {
    if (model.builtin || !model.artifactKey) return model;
    return { ...model, dir: await this.store.localDirectory(artifactKey(model.artifactKey)) };
  }

  onApplicationShutdown(): Promise<void> {
    return this.store.close();
  }
}
