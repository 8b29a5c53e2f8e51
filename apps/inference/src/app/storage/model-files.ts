import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';

import type { ModelRef } from '@tracetune/serving';
import { artifactKey, type ArtifactStore } from '@tracetune/storage';

/** How long a resolved model folder is trusted before its manifest is checked again (a newer version downloaded). */
const RECHECK_MS = 60_000;

/** Token under which the artifact store is injected (an interface has no runtime token). */
export const ARTIFACT_STORE = Symbol('ArtifactStore');

/**
 * Makes a model's weights readable by the engine threads before a request reaches them: with local storage they are
 * read in place; with S3 the published directory is downloaded once into this host's cache (TRACETUNE_DATA_DIR) and
 * reused until a new version of it is published. Runs on the HTTP thread (I/O only; engines never wait on the network).
 */
@Injectable()
export class ModelFiles implements OnApplicationShutdown {
  /** Folders resolved recently: on S3 each check is a request for the manifest, not worth paying per chat request. */
  private readonly resolved = new Map<string, { dir: string; at: number }>();

  constructor(@Inject(ARTIFACT_STORE) readonly store: ArtifactStore) {}

  async resolve(model: ModelRef): Promise<ModelRef> {
    if (model.builtin || !model.artifactKey) return model;
    const key = artifactKey(model.artifactKey);
    const recent = this.resolved.get(key);
    if (recent && Date.now() - recent.at < RECHECK_MS) return { ...model, dir: recent.dir };
    const dir = await this.store.localDirectory(key);
    this.resolved.set(key, { dir, at: Date.now() });
    return { ...model, dir };
  }

  onApplicationShutdown(): Promise<void> {
    return this.store.close();
  }
}
