import { cp } from 'node:fs/promises';
import { basename } from 'node:path';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Request } from 'express';

import { Config } from '@tracetune/config';
import {
  randomToken,
  type ExportDtype,
  type ImportModelRequest,
  type ModelObject,
} from '@tracetune/contracts';
import {
  FineTuningJobsRepository,
  LIVE_JOB_STATUSES,
  ModelsRepository,
  Prisma,
  type Model,
} from '@tracetune/db';
import {
  BUILTIN_CONFIGS,
  configFromHf,
  configToHf,
  parameterCount,
  type ModelConfig,
} from '@tracetune/model/metadata';
import {
  artifactKey,
  ArtifactTooLargeError,
  TarFormatError,
  tarSize,
  tarStream,
  TarTooLargeError,
  type ArtifactStore,
} from '@tracetune/storage';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';
import { readMultipartUpload } from '../files/multipart-upload';
import { ARTIFACT_STORE } from '../storage/storage.module';
import { CheckpointProblem, inspectCheckpoint } from './checkpoint-inspection';
import { importDirectory } from './import-directory';
import { defaultExportDtype, modelExport, type ModelExport } from './model-export';
import { extractModelArchive, validateUpload } from './model-upload';

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

/** The config.json a model row keeps: ours, with the dtype the weights came in (the default of downloads). */
function storedArchitecture(config: ModelConfig): Prisma.InputJsonValue {
  return { ...configToHf(config), torch_dtype: config.torch_dtype ?? 'float32' } as Prisma.InputJsonValue;
}

function checkSuffix(suffix: string | undefined): void {
  if (suffix !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/.test(suffix))
    throw ApiError.badRequest(
      `Invalid 'suffix': '${suffix}'; use up to 40 letters, digits, '.', '_' or '-'.`,
      'suffix',
    );
}

/** What a failed upload answers: 413 past the size limit, 400 naming `file` for a bad archive or model. */
function uploadError(error: unknown, maxBytes: number): unknown {
  if (error instanceof TarTooLargeError || error instanceof ArtifactTooLargeError)
    return new ApiError(
      413,
      `Model upload too large: the limit is ${maxBytes} bytes, as sent and expanded (TRACETUNE_MAX_MODEL_UPLOAD_BYTES).`,
      { param: 'file', code: 'file_too_large' },
    );
  if (error instanceof TarFormatError)
    return ApiError.badRequest(`Invalid archive: ${error.message}`, 'file', 'invalid_archive');
  if (error instanceof CheckpointProblem)
    return ApiError.badRequest(`Invalid model: ${error.message}`, error.param, 'invalid_model');
  return error;
}

@Injectable()
export class ModelsService implements OnApplicationBootstrap {
  constructor(
    private readonly config: Config,
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

  /**
   * A model of the caller's organization (fine-tuned, checkpoint or uploaded) as a tar stream of its Hugging Face
   * folder; global bases (built-in, operator-imported) are not downloadable (404, as for another organization's).
   */
  async content(
    caller: Principal,
    id: string,
    dtype: ExportDtype | undefined,
  ): Promise<{ filename: string; bytes: number; stream: AsyncIterable<Uint8Array> }> {
    const model = await this.models.findVisible(caller.organizationId, id);
    if (!model || model.organizationId !== caller.organizationId || !model.artifactKey)
      throw ApiError.notFound(`The model '${id}' does not exist or you do not have access to it.`, 'model');
    const key = artifactKey(model.artifactKey);
    const dir = await this.store.localDirectory(key);
    let built: ModelExport;
    try {
      built = modelExport(dir, dtype ?? defaultExportDtype(model.architecture), model.parentId);
    } catch (error) {
      await this.store.releaseLocalDirectory(key);
      throw error;
    }
    const store = this.store;
    async function* stream(): AsyncGenerator<Uint8Array> {
      try {
        yield* tarStream(built.entries);
      } finally {
        built.close();
        await store.releaseLocalDirectory(key);
      }
    }
    return {
      filename: `${id.replace(/[^A-Za-z0-9._-]+/g, '_')}.tar`,
      bytes: tarSize(built.entries),
      stream: stream(),
    };
  }

  /**
   * Imports an uploaded Hugging Face folder (.tar or .tar.gz, multipart part `file`; optional `suffix` and
   * `chat_template`) as a base model of the caller's organization. The archive is expanded while it streams into
   * a staging folder of the artifact store and validated there; the model is listed only once its folder is
   * published, and any failure (bad archive, invalid model, cut-off upload) leaves neither folder nor row.
   */
  async upload(caller: Principal, request: Request): Promise<ModelObject> {
    const token = randomToken(8);
    const key = artifactKey('models', 'uploaded', caller.organizationId, token);
    const maxBytes = this.config.get('TRACETUNE_MAX_MODEL_UPLOAD_BYTES');
    const budget = { maxTrainingBytes: this.trainingBudgetBytes(true) };
    let fields: Record<string, string> = {};
    let config: ModelConfig | undefined;
    try {
      await this.store.putDirectory(key, async (staging) => {
        const upload = await readMultipartUpload(
          request,
          (stream) => extractModelArchive(stream, staging, maxBytes),
          ['suffix', 'chat_template'],
        );
        fields = upload.fields;
        checkSuffix(fields['suffix']);
        try {
          // Form encoding turns line breaks into CRLF (multipart/form-data); templates use LF.
          const template = fields['chat_template']?.replace(/\r\n/g, '\n');
          config = validateUpload(staging, template, budget);
        } catch (error) {
          if (error instanceof CheckpointProblem)
            throw new CheckpointProblem(
              error.message.split(`${staging}/`).join('').split(staging).join('.'),
              error.param,
            );
          throw error;
        }
      });
    } catch (error) {
      throw uploadError(error, maxBytes);
    }
    const name = fields['suffix'] || (config as ModelConfig).model_type;
    try {
      const model = await this.models.upsert({
        id: `${caller.organizationId}/${name}-${token}`,
        organizationId: caller.organizationId,
        kind: 'base',
        source: 'imported',
        architecture: storedArchitecture(config as ModelConfig),
        tokenizer: 'hf',
        artifactKey: key,
      });
      return toModelObject(model);
    } catch (error) {
      await this.store.delete(key);
      throw error;
    }
  }

  /** Memory (bytes) a training process may use on the CPU queue, or on the accelerated queue. */
  trainingBudgetBytes(accelerated: boolean): number {
    const mb = this.config.get(
      accelerated ? 'TRACETUNE_ACCELERATOR_MEMORY_MB' : 'TRACETUNE_TRAINING_MEMORY_MB',
    );
    return mb * 1024 * 1024;
  }

  /** Registers a Hugging Face checkpoint directory on the server as a base model for every organization. */
  async import(request: ImportModelRequest): Promise<ModelObject> {
    const dir = await importDirectory(
      request.path,
      this.config.get('TRACETUNE_MODEL_IMPORT_DIR'),
      this.config.get('TRACETUNE_DATA_DIR'),
    );
    let config;
    try {
      config = inspectCheckpoint(dir);
    } catch (error) {
      if (error instanceof CheckpointProblem) {
        // Name the folder as the admin did, not by its place on the server.
        const message = error.message.split(dir).join(request.path);
        throw ApiError.badRequest(message, 'path', 'invalid_checkpoint');
      }
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
      architecture: storedArchitecture(config),
      tokenizer: 'hf',
      artifactKey: key,
    });
    return toModelObject(model);
  }
}
