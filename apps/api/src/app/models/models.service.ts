import { cp } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';

import type { ImportModelRequest, ModelObject } from '@tracetune/contracts';
import {
  FineTuningJobsRepository,
  LIVE_JOB_STATUSES,
  ModelsRepository,
  Prisma,
  type Model,
} from '@tracetune/db';
import { BUILTIN_CONFIGS, configFromHf, configToHf, parameterCount } from '@tracetune/model/metadata';
import { artifactKey, type ArtifactStore } from '@tracetune/storage';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';
import { ARTIFACT_STORE } from '../storage/storage.module';
import { CheckpointProblem, inspectCheckpoint } from './checkpoint-inspection';

export function toModelObject(model: Model): ModelObject {
  return {
    id: model.id,
    object: 'model',
    created: unixSeconds(model.createdAt),
    owned_by: model.organizationId ?? (model.source === 'builtin' ? 'tracetune' : 'system'),
    kind: model.kind,
    source: model.source,
    parent: model.parentId,
    fine_tuning_job: model.jobId,
  };
}

@Injectable()
export class ModelsService implements OnApplicationBootstrap {
  constructor(
    private readonly models: ModelsRepository,
    private readonly jobs: FineTuningJobsRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {}

  /** The built-in architectures are models every organization can fine-tune. */
  async onApplicationBootstrap(): Promise<void> {
    for (const [name, config] of Object.entries(BUILTIN_CONFIGS)) {
      await this.models.upsert({
        id: name,
        organizationId: null,
        kind: 'base',
        source: 'builtin',
        architecture: configToHf(config) as Prisma.InputJsonValue,
        tokenizer: 'byte',
      });
    }
  }

  /** Parameter count of a model's architecture (from its stored config.json). */
  parameters(model: Model): number {
    return parameterCount(configFromHf(model.architecture as Record<string, unknown>));
  }

  async list(caller: Principal): Promise<{ object: 'list'; data: ModelObject[] }> {
    return { object: 'list', data: (await this.models.visible(caller.organizationId)).map(toModelObject) };
  }

  async retrieve(caller: Principal, id: string): Promise<ModelObject> {
    return toModelObject(await this.get(caller, id));
  }

  /** Any model by id, whoever owns it (for system decisions such as queue routing, never for responses). */
  findAny(id: string): Promise<Model | null> {
    return this.models.findById(id);
  }

  /** A model the caller may use, or the 404 the SDK maps to NotFoundError. */
  async get(caller: Principal, id: string): Promise<Model> {
    const model = await this.models.findVisible(caller.organizationId, id);
    if (!model)
      throw ApiError.notFound(`The model '${id}' does not exist or you do not have access to it.`, 'model');
    return model;
  }

  async delete(caller: Principal, id: string): Promise<{ id: string; object: 'model'; deleted: boolean }> {
    const model = await this.get(caller, id);
    if (model.kind !== 'fine_tuned' || model.organizationId !== caller.organizationId) {
      throw new ApiError(
        403,
        `Only your own fine-tuned models can be deleted; '${id}' is a ${model.kind.replace('_', '-')} model.`,
        {
          param: 'model',
          code: 'model_not_deletable',
        },
      );
    }
    const users = await this.jobs.liveJobsOnModel(id, LIVE_JOB_STATUSES);
    if (users.length > 0)
      throw ApiError.conflict(
        `Model ${id} is the base of live job(s) ${users.join(', ')}.`,
        'model',
        'model_in_use',
      );
    for (const key of await this.models.deleteWithCheckpoints(id)) await this.store.delete(artifactKey(key));
    return { id, object: 'model', deleted: true };
  }

  /** Registers a Hugging Face checkpoint directory on the server as a base model for every organization. */
  async import(request: ImportModelRequest): Promise<ModelObject> {
    const dir = resolve(request.path);
    let config;
    try {
      config = inspectCheckpoint(dir);
    } catch (error) {
      if (error instanceof CheckpointProblem)
        throw ApiError.badRequest(error.message, 'path', 'invalid_checkpoint');
      throw error;
    }
    const id = request.id ?? basename(dir);
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(id)) {
      throw ApiError.badRequest(`'${id}' is not a valid model id; pass an id like owner/name`, 'id');
    }
    if (await this.models.findById(id))
      throw ApiError.conflict(`A model with id '${id}' already exists.`, 'id', 'model_exists');
    const key = artifactKey('models', 'imported', id.replace('/', '--'));
    // A copy in artifact storage: workers and inference hosts share the store, not the importing host's disk.
    await this.store.putDirectory(key, (staging) => cp(dir, staging, { recursive: true }));
    const model = await this.models.upsert({
      id,
      organizationId: null,
      kind: 'base',
      source: 'imported',
      architecture: configToHf(config) as Prisma.InputJsonValue,
      tokenizer: 'hf',
      artifactKey: key,
    });
    return toModelObject(model);
  }
}
