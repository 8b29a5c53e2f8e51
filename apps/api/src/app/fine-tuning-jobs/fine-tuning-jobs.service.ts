import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { Config } from '@tracetune/config';
import {
  ACCELERATED_TRAINING_QUEUE,
  newId,
  storedHyperparameters,
  TERMINAL_JOB_STATUSES,
  toListPage,
  TRAINING_JOB,
  TRAINING_JOB_OPTIONS,
  TRAINING_QUEUE,
  type CreateFineTuningJobRequest,
  type FineTuningCheckpointObject,
  type FineTuningEventObject,
  type FineTuningJobObject,
  type FineTuningMethodType,
  type JobStatusName,
  type ListResponse,
  type StoredMethod,
  type TrainingJobPayload,
  type ValidationReport,
} from '@tracetune/contracts';
import {
  CheckpointsRepository,
  FineTuningEventsRepository,
  FineTuningJobsRepository,
  Prisma,
  type Checkpoint,
  type File,
  type FineTuningEvent,
  type FineTuningJob,
  type JobStatus,
  type Model,
} from '@tracetune/db';
import { checkGraderAgainstRows, validateGrader } from '@tracetune/graders';
import {
  configFromHf,
  parameterCount,
  trainingMemoryBytes,
  type ModelConfig,
} from '@tracetune/model/metadata';
import { artifactKey, type ArtifactStore } from '@tracetune/storage';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';
import { FilesService } from '../files/files.service';
import { GradersService } from '../graders/graders.service';
import { ModelsService } from '../models/models.service';
import { RateLimitsService } from '../rate-limits/rate-limits.service';
import { ARTIFACT_STORE } from '../storage/storage.module';
import { requestedMethod, resolveJobSettings } from './job-settings';
import { QueueWatchService } from './queue-watch.service';

/** How far back an SDK retry without an idempotency key looks for its first attempt. */
const RETRY_WINDOW_MS = 10 * 60 * 1000;

/** Rows read from the training file to check the grader's template variables against. */
const GRADER_CHECK_ROWS = 2_000;

export function toJobObject(job: FineTuningJob, statusDetails: string | null = null): FineTuningJobObject {
  return {
    id: job.id,
    object: 'fine_tuning.job',
    created_at: unixSeconds(job.createdAt),
    finished_at: unixSeconds(job.finishedAt),
    model: job.model,
    fine_tuned_model: job.fineTunedModel,
    organization_id: job.organizationId,
    status: job.status,
    error: (job.error as FineTuningJobObject['error']) ?? null,
    hyperparameters: job.hyperparameters as Record<string, unknown>,
    method: job.method as Record<string, unknown>,
    result_files: job.resultFiles,
    trained_tokens: job.trainedTokens === null ? null : Number(job.trainedTokens),
    training_file: job.trainingFileId,
    validation_file: job.validationFileId,
    seed: job.seed,
    metadata: (job.metadata as Record<string, string> | null) ?? null,
    estimated_finish: unixSeconds(job.estimatedFinish),
    integrations: null,
    user_provided_suffix: job.suffix,
    progress: { step: job.currentStep, total_steps: job.totalSteps },
    status_details: job.status === 'queued' ? statusDetails : null,
  };
}

export function toEventObject(event: FineTuningEvent): FineTuningEventObject {
  return {
    id: event.id,
    object: 'fine_tuning.job.event',
    created_at: unixSeconds(event.createdAt),
    level: event.level,
    message: event.message,
    type: event.type,
    data: (event.data as Record<string, unknown> | null) ?? null,
  };
}

function toCheckpointObject(checkpoint: Checkpoint): FineTuningCheckpointObject {
  return {
    id: checkpoint.id,
    object: 'fine_tuning.job.checkpoint',
    created_at: unixSeconds(checkpoint.createdAt),
    fine_tuned_model_checkpoint: checkpoint.modelId,
    fine_tuning_job_id: checkpoint.jobId,
    metrics: { step: checkpoint.step, ...(checkpoint.metrics as Record<string, number>) },
    step_number: checkpoint.step,
  };
}

/** What a file's validated format is, in words (a file's `format`, or none of them). */
const FORMAT_NAMES: Record<string, string> = {
  chat: 'chat (supervised) data',
  rft: 'reinforcement data (prompts without assistant answers)',
  preference: 'preference data (DPO pairs)',
  none: 'not in one fine-tuning format',
};
const NEEDS: Record<FineTuningMethodType, string> = {
  supervised: 'supervised fine-tuning needs chat examples with assistant answers',
  reinforcement: "reinforcement fine-tuning needs prompts whose other keys are the grader's item",
  dpo: 'DPO needs preference pairs (input, preferred_output, non_preferred_output)',
};

@Injectable()
export class FineTuningJobsService {
  constructor(
    private readonly jobs: FineTuningJobsRepository,
    private readonly events: FineTuningEventsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly files: FilesService,
    private readonly models: ModelsService,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    @InjectQueue(TRAINING_QUEUE) private readonly queue: Queue<TrainingJobPayload>,
    @InjectQueue(ACCELERATED_TRAINING_QUEUE) private readonly acceleratedQueue: Queue<TrainingJobPayload>,
    private readonly config: Config,
    private readonly watch: QueueWatchService,
    private readonly graders: GradersService,
    private readonly limits: RateLimitsService,
  ) {}

  /** The job object, with why it waits when it waits on a queue no live worker consumes. */
  private object(job: FineTuningJob): FineTuningJobObject {
    return toJobObject(job, this.watch.reason(job.id));
  }

  /**
   * Creates a job once per request: a repeated `Idempotency-Key` returns the first job, and so does an SDK retry
   * without a key (the SDK marks retries with `x-stainless-retry-count`) of an identical request made in the last
   * {@link RETRY_WINDOW_MS}.
   */
  async create(
    caller: Principal,
    body: CreateFineTuningJobRequest,
    request: { idempotencyKey?: string; retryCount?: number } = {},
  ): Promise<FineTuningJobObject> {
    const { idempotencyKey } = request;
    if (idempotencyKey) {
      const existing = await this.jobs.findByIdempotencyKey(caller.organizationId, idempotencyKey);
      if (existing) return toJobObject(existing);
    }
    const fingerprint = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (!idempotencyKey && (request.retryCount ?? 0) > 0) {
      const first = await this.jobs.findRecentByFingerprint(
        caller.organizationId,
        fingerprint,
        new Date(Date.now() - RETRY_WINDOW_MS),
      );
      if (first) return toJobObject(first);
    }
    const method = requestedMethod(body);
    const baseModel = await this.models.get(caller, body.model).catch(() => {
      throw ApiError.badRequest(
        `The model '${body.model}' does not exist or you do not have access to it.`,
        'model',
        'model_not_found',
      );
    });
    const training = await this.dataFile(caller, body.training_file, 'training_file', method.type);
    const validation = body.validation_file
      ? await this.dataFile(caller, body.validation_file, 'validation_file', method.type)
      : null;
    const examples = (training.validation as unknown as ValidationReport).examples;
    const storedMethod = resolveJobSettings(method, examples, body.hyperparameters);
    this.checkMemory(baseModel, storedMethod);
    if (storedMethod.type === 'reinforcement')
      await this.checkGrader(storedMethod.reinforcement.grader, training, caller.organizationId);
    const hyperparameters = storedHyperparameters(storedMethod);
    const id = newId('job');
    let job: FineTuningJob;
    try {
      job = await this.limits.withJobSlot(
        caller,
        () => this.jobs.countActive(caller.organizationId),
        () =>
          this.jobs.create({
            id,
            organizationId: caller.organizationId,
            model: body.model,
            status: 'queued',
            method: storedMethod as Prisma.InputJsonValue,
            hyperparameters: hyperparameters as Prisma.InputJsonValue,
            trainingFileId: training.id,
            validationFileId: validation?.id ?? null,
            seed: body.seed ?? Math.floor(Math.random() * 2_147_483_647),
            suffix: body.suffix ?? null,
            metadata: body.metadata ?? undefined,
            totalSteps: hyperparameters.total_steps,
            idempotencyKey: idempotencyKey ?? null,
            requestFingerprint: fingerprint,
            resultFiles: [],
          }),
      );
    } catch (error) {
      // Two retries of one request racing: the second sees the first's job.
      if (idempotencyKey && error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002') {
        return toJobObject((await this.jobs.findByIdempotencyKey(caller.organizationId, idempotencyKey))!);
      }
      throw error;
    }
    await this.events.message(job, 'info', `Created fine-tuning job: ${id}`);
    await this.events.message(
      job,
      'info',
      `Validated training file: ${training.id}${validation ? ` and validation file: ${validation.id}` : ''}`,
    );
    try {
      await this.enqueue(job);
    } catch (error) {
      // Nothing half-done: a job that cannot be queued does not exist.
      await this.jobs.delete(job.id);
      throw new ApiError(
        503,
        `The job queue is unavailable (${(error as Error).message}); no job was created. Retry later.`,
        { code: 'queue_unavailable' },
      );
    }
    await this.events.message(job, 'info', 'Job enqueued');
    return this.object(job);
  }

  async list(
    caller: Principal,
    query: Record<string, string | number | undefined>,
  ): Promise<ListResponse<FineTuningJobObject>> {
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(query)) {
      const match = /^metadata\[(.+)\]$/.exec(key);
      if (match) metadata[match[1]] = String(value);
      else if (key !== 'after' && key !== 'limit')
        throw ApiError.badRequest(`Unrecognized query parameter: ${key}`, key, 'unknown_parameter');
    }
    const limit = Number(query['limit'] ?? 20);
    const rows = await this.jobs.list(caller.organizationId, {
      after: query['after'] as string | undefined,
      limit,
      metadata,
    });
    if (!rows)
      throw ApiError.badRequest(`No fine-tuning job with id '${query['after']}' to page after.`, 'after');
    return toListPage(
      rows.map((row) => this.object(row)),
      limit,
    );
  }

  async retrieve(caller: Principal, id: string): Promise<FineTuningJobObject> {
    return this.object(await this.get(caller, id));
  }

  /** Queued or paused jobs stop at once; a running job is marked cancelled and its worker stops within one step. */
  async cancel(caller: Principal, id: string): Promise<FineTuningJobObject> {
    const job = await this.get(caller, id);
    this.refuseTerminal(job, 'cancel');
    const updated = await this.jobs.transition(
      id,
      ['validating_files', 'queued', 'running', 'pausing', 'paused'],
      {
        status: 'cancelled',
        cancelRequested: true,
        finishedAt: new Date(),
      },
    );
    if (!updated) return this.cancel(caller, id); // it moved meanwhile: decide again on its new status
    await this.removeQueued(id);
    await this.events.message(updated, 'info', 'Job cancelled');
    return toJobObject(updated);
  }

  /** A running job checkpoints and stops (`pausing` → `paused`); a queued one pauses at once. */
  async pause(caller: Principal, id: string): Promise<FineTuningJobObject> {
    const job = await this.get(caller, id);
    if (job.status === 'queued' || job.status === 'validating_files') {
      const updated = await this.jobs.transition(id, ['queued', 'validating_files'], {
        status: 'paused',
        pauseRequested: false,
      });
      if (updated) {
        await this.removeQueued(id);
        await this.events.message(updated, 'info', 'Job paused before it started');
        return toJobObject(updated);
      }
    }
    if (job.status === 'running') {
      const updated = await this.jobs.transition(id, ['running'], {
        status: 'pausing',
        pauseRequested: true,
      });
      if (updated) {
        await this.events.message(
          updated,
          'info',
          'Pause requested: the job will checkpoint and pause after the current step',
        );
        return toJobObject(updated);
      }
    }
    const now = await this.get(caller, id);
    if (now.status === 'pausing' || now.status === 'paused') return toJobObject(now);
    throw this.conflict(now, 'pause');
  }

  /** A paused job goes back to the queue and continues from its pause checkpoint. */
  async resume(caller: Principal, id: string): Promise<FineTuningJobObject> {
    const job = await this.get(caller, id);
    if (job.status !== 'paused') {
      if (job.status === 'queued' || job.status === 'running') return toJobObject(job);
      throw this.conflict(job, 'resume');
    }
    const updated = await this.jobs.transition(id, ['paused'], { status: 'queued', pauseRequested: false });
    if (!updated) return this.resume(caller, id);
    await this.enqueue(updated);
    await this.events.message(updated, 'info', 'Job resumed; queued to continue from its last checkpoint');
    return this.object(updated);
  }

  async listEvents(
    caller: Principal,
    id: string,
    query: { after?: string; limit: number },
  ): Promise<ListResponse<FineTuningEventObject>> {
    await this.get(caller, id);
    const rows = await this.events.list(caller.organizationId, id, query);
    if (!rows) throw ApiError.badRequest(`No event with id '${query.after}' in job ${id}.`, 'after');
    return toListPage(rows.map(toEventObject), query.limit);
  }

  async listCheckpoints(
    caller: Principal,
    id: string,
    query: { after?: string; limit: number },
  ): Promise<ListResponse<FineTuningCheckpointObject>> {
    await this.get(caller, id);
    let rows = (await this.checkpoints.list(caller.organizationId, id)).map(toCheckpointObject);
    if (query.after) {
      const index = rows.findIndex((r) => r.id === query.after);
      if (index === -1)
        throw ApiError.badRequest(`No checkpoint with id '${query.after}' in job ${id}.`, 'after');
      rows = rows.slice(index + 1);
    }
    return toListPage(rows.slice(0, query.limit + 1), query.limit);
  }

  async get(caller: Principal, id: string): Promise<FineTuningJob> {
    const job = await this.jobs.find(caller.organizationId, id);
    if (!job) throw ApiError.notFound(`Could not find fine-tuning job: ${id}`, 'fine_tuning_job_id');
    return job;
  }

  private async dataFile(
    caller: Principal,
    id: string,
    param: string,
    method: FineTuningMethodType,
  ): Promise<File> {
    const file = await this.files.get(caller, id).catch(() => {
      throw ApiError.badRequest(
        `Invalid file '${id}': no such file in your organization.`,
        param,
        'invalid_file',
      );
    });
    if (file.purpose !== 'fine-tune') {
      throw ApiError.badRequest(
        `File ${id} has purpose '${file.purpose}'; fine-tuning needs purpose 'fine-tune'.`,
        param,
        'invalid_file_purpose',
      );
    }
    if (file.status !== 'processed') {
      throw ApiError.badRequest(
        `File ${id} is not usable for fine-tuning: its status is '${file.status}'${file.statusDetails ? ` (${file.statusDetails})` : ''}.`,
        param,
        'file_not_processed',
      );
    }
    const report = file.validation as unknown as ValidationReport;
    if (!report.compatible[method]) {
      throw ApiError.badRequest(
        `File ${id} is ${FORMAT_NAMES[report.format ?? 'none']}; ${NEEDS[method]}.`,
        param,
        'invalid_file_format',
      );
    }
    return file;
  }

  /** The grader must be valid and every `{{item.*}}` it reads must exist on the training rows. */
  private async checkGrader(
    grader: Record<string, unknown>,
    training: File,
    organizationId: string,
  ): Promise<void> {
    const param = (p: string) => p.replace(/^grader/, 'method.reinforcement.grader');
    const validation = validateGrader(grader);
    // Code graders' sources are loaded in the grader pool too, so a syntax error is refused here, not on every sample.
    const first = validation.ok
      ? await this.graders.codeProblem(grader, organizationId)
      : validation.errors[0];
    if (first) throw ApiError.badRequest(first.message, param(first.param), 'invalid_grader');
    const rows: Record<string, unknown>[] = [];
    const lines = createInterface({
      input: await this.store.get(artifactKey(training.storageKey)),
      crlfDelay: Infinity,
    });
    for await (const line of lines) {
      if (line.trim()) {
        const { messages: _messages, ...item } = JSON.parse(line) as Record<string, unknown>;
        rows.push(item);
      }
      if (rows.length >= GRADER_CHECK_ROWS) {
        lines.close();
        break;
      }
    }
    const check = checkGraderAgainstRows(grader, rows);
    if (!check.ok) {
      const problem = check.problems[0];
      throw ApiError.badRequest(
        `The grader reads {{${problem.variable}}}, which line ${problem.row} of training file ${training.id} lacks: ${problem.message}`,
        param(problem.param),
        'grader_variable_missing',
      );
    }
  }

  /**
   * Refuses, before anything is queued, a job whose weights, gradients and optimizer state exceed the memory of the
   * queue it would run on (TRACETUNE_TRAINING_MEMORY_MB on the CPU queue, TRACETUNE_ACCELERATOR_MEMORY_MB above
   * TRACETUNE_CPU_MAX_PARAMS), with the numbers.
   */
  private checkMemory(model: Model, method: StoredMethod): void {
    let config: ModelConfig;
    try {
      config = configFromHf(model.architecture as Record<string, unknown>);
    } catch {
      return; // an architecture we cannot size: the worker reports it when it loads the model
    }
    const lora = method.type === 'reinforcement' ? method.reinforcement.lora : null;
    const needed = trainingMemoryBytes(
      config,
      lora ? { rank: lora.rank, targets: lora.target_modules } : null,
    );
    const accelerated = parameterCount(config) > this.config.get('TRACETUNE_CPU_MAX_PARAMS');
    const budget = this.models.trainingBudgetBytes(accelerated);
    if (needed <= budget) return;
    const variable = accelerated ? 'TRACETUNE_ACCELERATOR_MEMORY_MB' : 'TRACETUNE_TRAINING_MEMORY_MB';
    const mib = (n: number) => Math.ceil(n / 1024 ** 2).toLocaleString('en');
    throw ApiError.badRequest(
      `The model '${model.id}' does not fit in training memory: ${parameterCount(config).toLocaleString('en')} parameters need at least ${mib(needed)} MiB for weights${lora ? ' and LoRA adapters' : ''}, gradients and optimizer state (float32), over the ${mib(budget)} MiB of ${variable}.${lora ? '' : ' LoRA (method.reinforcement.lora) needs far less.'}`,
      'model',
      'model_too_large',
    );
  }

  /**
   * Queues the job where a worker that can run it will find it: models above TRACETUNE_CPU_MAX_PARAMS go to the
   * accelerated queue, which only workers with an accelerator consume. The queue job id is the job id, so a retried
   * request cannot enqueue the same job twice; a finished queue entry of a resumed job is removed first.
   */
  private async enqueue(job: FineTuningJob): Promise<void> {
    const model = await this.models.findAny(job.model);
    let parameters = 0;
    try {
      parameters = model ? this.models.parameters(model) : 0;
    } catch {
      // An architecture we cannot size (the worker reports it when it loads the model) counts as small.
    }
    const limit = this.config.get('TRACETUNE_CPU_MAX_PARAMS');
    const queue = parameters > limit ? this.acceleratedQueue : this.queue;
    const previous = await queue.getJob(job.id);
    if (previous && !(await previous.isActive())) await previous.remove();
    await queue.add(
      TRAINING_JOB.run,
      { jobId: job.id, organizationId: job.organizationId },
      { ...TRAINING_JOB_OPTIONS, jobId: job.id },
    );
    await this.watch.checkQueued(job.id, queue);
    if (queue === this.acceleratedQueue) {
      await this.events.message(
        job,
        'info',
        `Waiting for a worker with an accelerator: ${job.model} has ${parameters.toLocaleString('en')} parameters, above TRACETUNE_CPU_MAX_PARAMS (${limit.toLocaleString('en')})`,
      );
    }
  }

  private async removeQueued(id: string): Promise<void> {
    for (const queue of [this.queue, this.acceleratedQueue]) {
      const queued = await queue.getJob(id);
      if (queued && (await queued.isWaiting().catch(() => false)))
        await queued.remove().catch(() => undefined);
    }
  }

  private refuseTerminal(job: FineTuningJob, action: string): void {
    if (TERMINAL_JOB_STATUSES.includes(job.status as JobStatusName)) throw this.conflict(job, action);
  }

  private conflict(job: FineTuningJob, action: string): ApiError {
    return ApiError.conflict(
      `Cannot ${action} job ${job.id}: its status is '${job.status}'.`,
      'fine_tuning_job_id',
      `job_${job.status as JobStatus}`,
    );
  }
}
