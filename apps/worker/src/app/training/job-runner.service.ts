import { fork, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable, Logger } from '@nestjs/common';

import { Config } from '@tracetune/config';
import {
  checkpointModelId,
  fineTunedModelId,
  newId,
  storedMethodSchema,
  type StoredMethod,
} from '@tracetune/contracts';
import {
  CheckpointsRepository,
  FilesRepository,
  FineTuningEventsRepository,
  FineTuningJobsRepository,
  ModelsRepository,
  Prisma,
  TrainingMetricsRepository,
  type FineTuningJob,
  type JobStatus,
} from '@tracetune/db';
import { artifactKey, ArtifactNotFoundError, type ArtifactKey, type ArtifactStore } from '@tracetune/storage';
import type {
  CheckpointInfo,
  RunTrainingOptions,
  TrainingOutcome,
  TrainingRunSpec,
} from '@tracetune/trainer';

import { WorkerMetrics } from '../metrics/worker-metrics';
import { ARTIFACT_STORE } from '../storage.tokens';
import { OrderedWrites, retryWrite } from './ordered-writes';
import type { ChildMessage, ParentMessage } from './protocol';
import { RESULTS_FILENAME, resultsCsv } from './results-csv';

/** Statuses in which a worker may (re)start a job. */
const RUNNABLE: JobStatus[] = ['queued', 'running', 'pausing'];

/** Attempts of a job whose training threads die before it fails for good (each retry resumes from a checkpoint). */
const THREAD_FAILURE_ATTEMPTS = 3;
const CONTROL_POLL_MS = 1_000;
/** Tries at publishing a checkpoint before giving up on it (a final model: before failing the job). */
const PUBLISH_TRIES = 3;
/** Reports that may wait for the database, in order, before the job is stopped (OrderedWrites). */
const MAX_PENDING_REPORTS = 10_000;

/**
 * How a run ended for the queue: `done` (the job reached a status the worker is finished with), `released` (handed
 * back on shutdown: Bull delivers it again), `superseded` (a newer attempt owns the job), `unrecorded` (the database
 * would not take the job's reports nor its failure: Bull delivers it again, reconciliation resumes it).
 */
export type RunEnd = 'done' | 'released' | 'superseded' | 'unrecorded';

/** A delivery this worker will not run now; failing it hands it back to Bull, which delivers it again later. */
export class DeliveryHandedBack extends Error {}

/**
 * Runs one fine-tuning job on this worker: claims it (compare-and-set on its status), resumes from its last
 * checkpoint if an earlier attempt died, runs the trainer in a child process and persists everything it reports.
 * Postgres is the source of truth: a lost Redis or a repeated queue delivery cannot finish a job twice.
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger(JobRunner.name);
  /** Set on shutdown: the running job checkpoints and goes back to the queue; new deliveries are handed back. */
  private draining = false;
  /** The run in progress on this worker (one at a time), and how to stop its training process. */
  private running: Promise<RunEnd> | null = null;
  private active: { stop: () => void } | null = null;
  /** Folders of the running job published to the store (publishOnce). */
  private readonly publishing = new Map<string, Promise<void>>();
  /** Jobs this worker is training now (automatic thread counts divide the cores among them). */
  private training = 0;

  constructor(
    private readonly config: Config,
    private readonly jobs: FineTuningJobsRepository,
    private readonly events: FineTuningEventsRepository,
    private readonly metrics: TrainingMetricsRepository,
    private readonly checkpoints: CheckpointsRepository,
    private readonly models: ModelsRepository,
    private readonly files: FilesRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    private readonly telemetry: WorkerMetrics,
  ) {}

  /** Runs one delivery; throws DeliveryHandedBack when the queue must deliver it again. */
  async run(jobId: string, workerId: string): Promise<void> {
    if (this.draining)
      throw new DeliveryHandedBack(`worker ${workerId} is shutting down; ${jobId} handed back`);
    const running = this.runJob(jobId, workerId);
    this.running = running;
    try {
      const end = await running;
      if (end === 'released' || end === 'unrecorded')
        throw new DeliveryHandedBack(`job ${jobId} handed back to the queue (${end})`);
    } finally {
      this.running = null;
      this.active = null;
      this.publishing.clear();
    }
  }

  private async runJob(jobId: string, workerId: string): Promise<RunEnd> {
    const found = await this.jobs.findById(jobId);
    // Not in this database: another deployment's delivery (a shared TRACETUNE_QUEUE_PREFIX). Never swallow it: the
    // failure hands it back to Bull (retried, then kept among failed jobs) and the owner's reconciliation rebuilds it.
    if (!found)
      throw new DeliveryHandedBack(`job ${jobId} is not in this deployment's database; delivery handed back`);
    if (!RUNNABLE.includes(found.status)) {
      this.logger.log(`job ${jobId} is ${found.status}; nothing to run`);
      return 'done';
    }
    const previousAttempts = found.attempt;
    const job = await this.jobs.transition(jobId, RUNNABLE, {
      status: found.status === 'pausing' ? 'pausing' : 'running',
      attempt: { increment: 1 },
      workerId,
      heartbeatAt: new Date(),
      startedAt: found.startedAt ?? new Date(),
    });
    if (!job) return 'done';
    const latest = await this.checkpoints.latest(jobId);
    if (latest) {
      // Steps after the checkpoint are replayed: drop what the interrupted attempt recorded for them.
      await this.metrics.deleteAfter(jobId, latest.step);
      await this.events.deleteStepEventsAfter(jobId, latest.step);
      await this.log(
        job,
        'info',
        `Resuming from checkpoint at step ${latest.step} (attempt ${previousAttempts + 1}, worker ${workerId})`,
        {
          step: latest.step,
        },
      );
    } else if (previousAttempts > 0) {
      // Replayed from the first step: what the interrupted attempt recorded for its steps goes.
      await this.metrics.deleteAfter(jobId, 0);
      await this.events.deleteStepEventsAfter(jobId, 0);
      await this.log(
        job,
        'warn',
        `Restarting from the beginning on worker ${workerId}: the previous attempt left no checkpoint`,
      );
    } else {
      await this.log(job, 'info', `Fine-tuning job started on worker ${workerId}`);
    }
    const settings = storedMethodSchema.safeParse(job.method);
    if (!settings.success) {
      const issue = settings.error.issues[0];
      const where = ['method', ...issue.path].join('.');
      await this.fail(
        job,
        'invalid_config',
        `The job's stored settings are invalid at ${where}: ${issue.message}`,
        'method',
      );
      return 'done';
    }
    // The trainer writes checkpoints into this host's scratch folder; each is published to the store (moved into
    // place locally, uploaded to S3) as it is reported. The data files are streamed there from the store, for the
    // training process to read by path. A resumed checkpoint is read from the store (S3: its copy in the local cache).
    const scratch = this.scratchDir(job.id);
    await rm(scratch, { recursive: true, force: true });
    let resumeFrom: string | null = null;
    try {
      let spec: TrainingRunSpec;
      try {
        spec = await this.buildSpec(job, settings.data, join(scratch, 'data'));
      } catch (error) {
        await this.fail(job, 'invalid_training_data', (error as Error).message, null);
        return 'done';
      }
      if (latest) {
        try {
          resumeFrom = await this.store.localDirectory(artifactKey(latest.artifactKey));
        } catch (error) {
          if (!(error instanceof ArtifactNotFoundError)) throw error; // storage unreachable: Bull retries the job
          await this.fail(
            job,
            'checkpoint_missing',
            `Cannot resume: checkpoint ${latest.artifactKey} is missing from artifact storage (${this.store.location})`,
            null,
          );
          return 'done';
        }
      }
      if (this.draining) return await this.release(job, null);
      this.training++;
      try {
        return await this.supervise(job, spec, {
          checkpointRoot: scratch,
          resumeFrom,
          ...this.threadOptions(),
        });
      } finally {
        this.training--;
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
      // A downloaded copy (S3) is not kept: the next attempt may run on another host, from a newer checkpoint.
      if (latest && resumeFrom !== null)
        await this.store.releaseLocalDirectory(artifactKey(latest.artifactKey));
    }
  }

  /** Where this host's training process writes checkpoints before they are published (hidden from the store). */
  private scratchDir(jobId: string): string {
    return join(resolve(this.config.get('TRACETUNE_DATA_DIR')), '.work', 'jobs', jobId);
  }

  /**
   * Publishing moves the folder into the store, so a write retried after a database error must not publish again:
   * each report's folder is published once (its outcome, success or failure, is remembered per report: `report`).
   */
  private publishOnce(key: ArtifactKey, dir: string, report = dir): Promise<void> {
    let publishing = this.publishing.get(report);
    if (!publishing) {
      publishing = this.publish(key, dir);
      this.publishing.set(report, publishing);
    }
    return publishing;
  }

  /** Publishes a checkpoint folder the trainer wrote, retrying (S3 hiccups); throws after the last try. */
  private async publish(key: ArtifactKey, dir: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const started = performance.now();
        await this.store.publishDirectory(key, dir);
        this.telemetry.published((performance.now() - started) / 1000);
        return;
      } catch (error) {
        if (attempt >= PUBLISH_TRIES) throw error;
        this.logger.warn(`publishing ${key} failed (try ${attempt}): ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 1_000 * attempt));
      }
    }
  }

  /** Streams a stored file into `dir` (never held in memory) and returns its local path. */
  private async localCopy(storageKey: string, dir: string, name: string): Promise<string> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, name);
    await pipeline(await this.store.get(artifactKey(storageKey)), createWriteStream(path));
    return path;
  }

  /**
   * The training run of a job: its stored settings (read back with the schema the api stored them with), and local
   * paths of its data files (copied into `dataDir`) and base model, which the training process reads itself: nothing
   * large crosses IPC.
   */
  private async buildSpec(
    job: FineTuningJob,
    method: StoredMethod,
    dataDir: string,
  ): Promise<TrainingRunSpec> {
    const training = await this.files.find(job.organizationId, job.trainingFileId);
    if (!training) throw new Error(`training file ${job.trainingFileId} no longer exists`);
    const validation = job.validationFileId
      ? await this.files.find(job.organizationId, job.validationFileId)
      : null;
    const base = await this.models.findById(job.model);
    if (!base) throw new Error(`base model ${job.model} no longer exists`);
    const judgeURL = this.config.get('TRACETUNE_JUDGE_BASE_URL');
    const common = {
      baseModel:
        base.source === 'builtin'
          ? ({ kind: 'builtin', name: base.id } as const)
          : ({
              kind: 'directory',
              path: await this.store.localDirectory(artifactKey(base.artifactKey!)),
            } as const),
      trainingFile: await this.localCopy(training.storageKey, dataDir, 'training.jsonl'),
      validationFile: validation
        ? await this.localCopy(validation.storageKey, dataDir, 'validation.jsonl')
        : null,
      seed: job.seed,
      checkpointInterval: Math.max(1, Math.ceil((job.totalSteps ?? 10) / 5)),
      sampleInterval: Math.max(1, Math.ceil((job.totalSteps ?? 10) / 10)),
      passThreshold: 1,
      judge: judgeURL
        ? { baseURL: judgeURL, apiKey: this.config.get('TRACETUNE_JUDGE_API_KEY') ?? 'none' }
        : null,
    };
    if (method.type === 'supervised') {
      return { ...common, method: 'supervised', hyperparameters: method.supervised.hyperparameters };
    }
    if (method.type === 'dpo') {
      const { beta, ...hyperparameters } = method.dpo.hyperparameters;
      return { ...common, method: 'dpo', hyperparameters, dpo: { beta } };
    }
    const rl = method.reinforcement;
    return {
      ...common,
      method: 'reinforcement',
      grader: rl.grader,
      hyperparameters: rl.hyperparameters,
      algorithm: rl.algorithm,
      lora: rl.lora,
    };
  }

  /**
   * Runs the training process and persists its reports until it ends. Reports are written strictly in order (a
   * step's metrics before the checkpoint that follows it) and retried through a database outage (OrderedWrites).
   * Between steps the child waits for the job's control signal: cancel, pause, or — once another attempt claimed the
   * job (its `attempt` moved on) — cancel without touching the job any more. While this worker shuts down the signal
   * is pause, and the paused job is handed back to the queue instead.
   */
  private supervise(
    job: FineTuningJob,
    spec: TrainingRunSpec,
    options: Omit<RunTrainingOptions, 'callbacks'>,
  ): Promise<RunEnd> {
    return new Promise((resolve) => {
      const child: ChildProcess = fork(join(__dirname, 'training-process.js'), [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: ['--enable-source-maps', '--max-old-space-size=8192'],
      });
      let settled = false;
      let superseded = false;
      let gaveUp: { what: string; error: Error } | null = null;
      const startedAt = Date.now();
      const firstStep = job.currentStep;
      const writes = new OrderedWrites({
        retryMs: this.config.get('TRACETUNE_DB_RETRY_MS'),
        maxPending: MAX_PENDING_REPORTS,
        onRetry: (what, attempt, error) =>
          this.logger.warn(
            `recording ${what} of ${job.id} failed (try ${attempt}); retrying: ${error.message}`,
          ),
        onGiveUp: (what, error) => {
          gaveUp = { what, error };
          this.logger.error(
            `recording ${what} of ${job.id} failed for good (${error.message}); stopping the job`,
          );
          child.kill('SIGKILL');
        },
      });
      const record = (what: string, work: () => Promise<unknown>) =>
        writes.add(what, () => (superseded ? Promise.resolve() : work()));
      const sendControl = async () => {
        const now = await this.jobs.findById(job.id);
        if (now && now.attempt !== job.attempt && !superseded) {
          superseded = true;
          this.logger.warn(`job ${job.id} was taken over by attempt ${now.attempt}; stopping this one`);
        }
        const signal =
          !now || now.status === 'cancelled' || superseded
            ? 'cancel'
            : now.pauseRequested || this.draining
              ? 'pause'
              : 'continue';
        // The child may have finished and exited meanwhile: a late control message is simply dropped.
        if (child.connected && child.exitCode === null)
          child.send({ type: 'control', signal } satisfies ParentMessage, () => undefined);
      };
      // Between steps the child waits for this answer; the periodic one covers long steps (checked between micro-batches).
      this.telemetry.jobStarted();
      const poll = setInterval(() => void sendControl().catch(() => undefined), CONTROL_POLL_MS);
      const heartbeat = setInterval(
        () => void this.jobs.heartbeat(job.id, job.attempt).catch(() => undefined),
        Math.max(250, Math.floor(this.config.get('TRACETUNE_JOB_LOCK_MS') / 4)),
      );
      const finish = (outcome: string, work: () => Promise<RunEnd | void>) => {
        if (settled) return;
        settled = true;
        this.telemetry.jobEnded(outcome);
        clearInterval(poll);
        clearInterval(heartbeat);
        let end: RunEnd = 'done';
        record('the outcome', async () => (end = (await work()) ?? 'done'));
        void writes.settled().then(async () => {
          if (superseded) return resolve('superseded');
          if (gaveUp) return resolve(await this.failUnrecorded(job, gaveUp.what, gaveUp.error));
          resolve(end);
        });
      };
      this.active = { stop: () => child.kill('SIGKILL') };
      child.on('message', (message: ChildMessage) => {
        switch (message.type) {
          case 'ready': {
            const id = newId('event');
            record('the backend event', () =>
              this.log(
                job,
                'info',
                `Training on the ${message.backend} backend (${message.reason})`,
                undefined,
                id,
              ),
            );
            break;
          }
          case 'step': {
            this.telemetry.step(spec.method, message.metrics);
            const id = newId('event');
            record(`step ${message.step}`, () =>
              this.recordStep(
                job,
                message.step,
                message.totalSteps,
                message.metrics,
                startedAt,
                firstStep,
                id,
              ),
            );
            writes.add('the control answer', () => sendControl().catch(() => undefined));
            break;
          }
          // Every retried write keeps the id made here: a retry after a try that did commit finds its row.
          case 'event': {
            const id = newId('event');
            record('an event', () => this.log(job, message.level, message.message, message.data, id));
            break;
          }
          case 'samples': {
            const id = newId('event');
            record(`the samples of step ${message.step}`, () =>
              this.log(
                job,
                'info',
                `Sample completions at step ${message.step}`,
                { step: message.step, samples: message.samples },
                id,
              ),
            );
            break;
          }
          case 'checkpoint':
            {
              // One id for every try: a retried write recognises its own row.
              const id = newId('checkpoint');
              record(`the checkpoint of step ${message.checkpoint.step}`, () =>
                this.recordCheckpoint(job, message.checkpoint, id),
              );
            }
            break;
          case 'outcome':
            finish(message.outcome.status, () =>
              this.draining && message.outcome.status === 'paused'
                ? this.release(job, message.outcome.step)
                : this.complete(job, message.outcome),
            );
            break;
          case 'failure':
            // A dead training thread (out of memory, a wasm trap) is retried like a crashed worker, a few times.
            if (message.code === 'thread_failed' && job.attempt < THREAD_FAILURE_ATTEMPTS) {
              finish('retried', () => this.retry(job, message.message));
              break;
            }
            finish('failed', () =>
              this.fail(job, message.code, message.message, message.param, message.step),
            );
            break;
        }
      });
      child.on('error', (error) => this.logger.warn(`training process of ${job.id}: ${error.message}`));
      child.on('exit', (code, signal) => {
        finish('failed', () =>
          this.draining
            ? this.release(job, null)
            : this.fail(
                job,
                signal === 'SIGKILL' ? 'out_of_memory' : 'training_failed',
                `the training process exited unexpectedly (${signal ?? `code ${code}`})`,
                null,
              ),
        );
      });
      child.send({
        type: 'start',
        spec,
        options,
        backend: this.config.get('TRACETUNE_BACKEND'),
      } satisfies ParentMessage);
    });
  }

  /**
   * Shutdown: the running job's training process is asked to checkpoint and stop (the job goes back to the queue,
   * or to `paused` if a pause was requested); past `graceMs` it is killed and the job resumes from its last
   * checkpoint. Resolves when no job runs here any more. Deliveries that arrive meanwhile are handed back.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const running = this.running;
    if (!running) return;
    this.logger.log(`shutting down: asking the running job to checkpoint (grace ${graceMs} ms)`);
    const expired = new Promise<'expired'>((r) => setTimeout(() => r('expired'), graceMs).unref());
    if ((await Promise.race([running, expired])) === 'expired') {
      this.logger.warn(
        'grace period over: stopping the training process; the job resumes from its last checkpoint',
      );
      this.active?.stop();
      await running;
    }
  }

  /**
   * Training threads of a job: TRACETUNE_TRAINING_THREADS, or automatic (0) within this worker's share of the cores
   * (divided among the jobs it is training) and the job memory budget.
   */
  private threadOptions(): Pick<RunTrainingOptions, 'threads' | 'threadLimits'> {
    return {
      threads: this.config.get('TRACETUNE_TRAINING_THREADS'),
      threadLimits: {
        maxThreads: Math.max(1, Math.floor(availableParallelism() / Math.max(1, this.training))),
        memoryBudgetBytes: this.config.get('TRACETUNE_TRAINING_MEMORY_MB') * 1024 * 1024,
      },
    };
  }

  /** A job whose training thread died goes back to the queue and resumes from its last checkpoint. */
  private async retry(job: FineTuningJob, why: string): Promise<RunEnd> {
    const queued = await this.jobs.transition(job.id, ['running'], { status: 'queued', heartbeatAt: null });
    if (!queued) return this.fail(job, 'thread_failed', why, null).then(() => 'done');
    await this.log(
      job,
      'warn',
      `${why}; the job is queued again (attempt ${job.attempt} of ${THREAD_FAILURE_ATTEMPTS})`,
    );
    return 'released';
  }

  /** Hands a job this worker is giving up back: `queued` again (a pause in progress becomes `paused`). */
  private async release(job: FineTuningJob, checkpointStep: number | null): Promise<RunEnd> {
    const where =
      checkpointStep === null ? 'before its next checkpoint' : `after a checkpoint at step ${checkpointStep}`;
    const queued = await this.jobs.transition(job.id, ['running'], {
      status: 'queued',
      heartbeatAt: null,
      ...(checkpointStep === null ? {} : { currentStep: checkpointStep }),
    });
    if (queued) {
      await this.log(
        job,
        'warn',
        `Worker ${job.workerId ?? ''} shut down ${where}; the job is queued again and resumes from its last checkpoint`,
      );
      return 'released';
    }
    const paused = await this.jobs.transition(job.id, ['pausing'], {
      status: 'paused',
      pauseRequested: false,
    });
    if (paused) await this.log(job, 'info', `Job paused ${where}; resume continues from its last checkpoint`);
    return 'done';
  }

  /**
   * The database refused a report for longer than TRACETUNE_DB_RETRY_MS: the job is failed (once the database takes
   * the write), naming what could not be recorded. If even that write fails the job stays live in PostgreSQL, and the
   * delivery is handed back: reconciliation resumes it from its last checkpoint once the database is back.
   */
  private async failUnrecorded(job: FineTuningJob, what: string, error: Error): Promise<RunEnd> {
    try {
      await retryWrite(this.config.get('TRACETUNE_DB_RETRY_MS'), () =>
        this.fail(
          job,
          'database_unavailable',
          `Could not record ${what} in the database for ${Math.round(this.config.get('TRACETUNE_DB_RETRY_MS') / 1000)} s (${error.message}); the job was stopped so that no step goes unrecorded`,
          null,
        ),
      );
      return 'done';
    } catch {
      return 'unrecorded';
    }
  }

  private async recordStep(
    job: FineTuningJob,
    step: number,
    totalSteps: number,
    reported: Record<string, number>,
    startedAt: number,
    firstStep: number,
    eventId: string,
  ): Promise<void> {
    // JSON has no NaN or Infinity: a metric that is not finite this step (e.g. no KL without a reference) is omitted.
    const values = Object.fromEntries(
      Object.entries(reported).filter(([, v]) => typeof v === 'number' && Number.isFinite(v)),
    );
    await this.metrics.record({
      id: newId('metric'),
      jobId: job.id,
      organizationId: job.organizationId,
      step,
      metrics: values,
    });
    await this.events.add({
      id: eventId,
      jobId: job.id,
      organizationId: job.organizationId,
      level: 'info',
      type: 'metrics',
      message: `Step ${step}/${totalSteps}${values['reward'] !== undefined ? `: reward=${values['reward'].toFixed(4)}` : ''}${values['loss'] !== undefined ? `: loss=${values['loss'].toFixed(4)}` : ''}`,
      data: { step, total_steps: totalSteps, ...values },
    });
    const perStep = (Date.now() - startedAt) / Math.max(1, step - firstStep);
    await this.jobs.transition(job.id, ['running', 'pausing'], {
      currentStep: step,
      totalSteps,
      heartbeatAt: new Date(),
      estimatedFinish: new Date(Date.now() + perStep * (totalSteps - step)),
      trainedTokens: await this.metrics.trainedTokens(job.id),
    });
  }

  private async recordCheckpoint(job: FineTuningJob, checkpoint: CheckpointInfo, id: string): Promise<void> {
    const key = this.keyOf(job, checkpoint.dir);
    try {
      await this.publishOnce(key, checkpoint.dir, id);
    } catch (error) {
      // Training goes on; a resume uses the previous checkpoint.
      await this.log(
        job,
        'warn',
        `Checkpoint at step ${checkpoint.step} could not be stored in ${this.store.location}: ${(error as Error).message}`,
      );
      return;
    }
    const modelId = checkpointModelId(fineTunedModelId(job), checkpoint.step);
    await this.models.upsert({
      id: modelId,
      organizationId: job.organizationId,
      kind: 'checkpoint',
      source: 'trained',
      architecture: ((await this.models.findById(job.model))?.architecture ?? {}) as Prisma.InputJsonValue,
      artifactKey: key,
      parentId: job.model,
      jobId: job.id,
    });
    const saved = await this.checkpoints.record({
      id,
      jobId: job.id,
      organizationId: job.organizationId,
      step: checkpoint.step,
      metrics: checkpoint.metrics,
      artifactKey: key,
      modelId,
    });
    // A pause right after a scheduled checkpoint writes that step's checkpoint again: announced once.
    if (saved.id !== id) return;
    await this.log(job, 'info', `Checkpoint saved at step ${checkpoint.step}: ${modelId}`, {
      step: checkpoint.step,
      model: modelId,
    });
  }

  private async complete(job: FineTuningJob, outcome: TrainingOutcome): Promise<void> {
    const trainedTokens = BigInt(Math.round(outcome.trainedTokens));
    if (outcome.status === 'cancelled') {
      await this.jobs.transition(job.id, ['running', 'pausing', 'cancelled'], {
        status: 'cancelled',
        finishedAt: new Date(),
        trainedTokens,
      });
      await this.log(job, 'info', `Training stopped at step ${outcome.step}: the job was cancelled`);
      return;
    }
    if (outcome.status === 'paused') {
      const paused = await this.jobs.transition(job.id, ['running', 'pausing'], {
        status: 'paused',
        pauseRequested: false,
        currentStep: outcome.step,
        trainedTokens,
      });
      if (paused)
        await this.log(
          job,
          'info',
          `Job paused at step ${outcome.step}; resume continues from this checkpoint`,
          { step: outcome.step },
        );
      return;
    }
    const id = fineTunedModelId(job);
    const modelDir = outcome.modelDir;
    if (!modelDir) {
      await this.fail(
        job,
        'training_failed',
        'Training reported success without a model',
        null,
        outcome.step,
      );
      return;
    }
    const modelKey = this.keyOf(job, modelDir);
    try {
      await this.publishOnce(modelKey, modelDir);
    } catch (error) {
      await this.fail(
        job,
        'storage_failed',
        `Training finished but the model could not be stored in ${this.store.location}: ${(error as Error).message}`,
        null,
        outcome.step,
      );
      return;
    }
    const base = await this.models.findById(job.model);
    await this.models.upsert({
      id,
      organizationId: job.organizationId,
      kind: 'fine_tuned',
      source: 'trained',
      architecture: (base?.architecture ?? {}) as Prisma.InputJsonValue,
      artifactKey: modelKey,
      parentId: job.model,
      jobId: job.id,
    });
    const results = await this.writeResults(job);
    const done = await this.jobs.transition(job.id, ['running', 'pausing'], {
      status: 'succeeded',
      fineTunedModel: id,
      finishedAt: new Date(),
      currentStep: outcome.step,
      trainedTokens,
      estimatedFinish: null,
      resultFiles: [results.id],
    });
    if (!done) await this.discardResults(job, results);
    if (done)
      await this.log(job, 'info', `The job has successfully completed: ${id}`, {
        model: id,
        ...outcome.finalMetrics,
      });
  }

  /** The `fine-tune-results` CSV (one row per recorded step), stored as a file of the job's organization. */
  private async writeResults(job: FineTuningJob): Promise<{ id: string; key: ArtifactKey }> {
    const rows = await this.metrics.list(job.organizationId, job.id);
    const csv = resultsCsv(
      rows.map((r) => ({ step: r.step, metrics: r.metrics as Record<string, unknown> })),
    );
    const id = newId('file');
    const key = artifactKey('files', job.organizationId, id);
    const stored = await this.store.put(key, csv);
    try {
      await this.files.create({
        id,
        organizationId: job.organizationId,
        filename: RESULTS_FILENAME,
        purpose: 'fine-tune-results',
        bytes: stored.bytes,
        status: 'processed',
        statusDetails: null,
        storageKey: key,
        sha256: stored.sha256,
        lineCount: rows.length + 1,
        validation: null,
      });
    } catch (error) {
      await this.store.delete(key);
      throw error;
    }
    return { id, key };
  }

  /** A results file whose job did not end as succeeded (cancelled meanwhile) leaves nothing behind. */
  private async discardResults(job: FineTuningJob, results: { id: string; key: ArtifactKey }): Promise<void> {
    await this.files.delete(job.organizationId, results.id);
    await this.store.delete(results.key);
  }

  private async fail(
    job: FineTuningJob,
    code: string,
    message: string,
    param: string | null,
    step: number | null = null,
  ): Promise<void> {
    const failed = await this.jobs.transition(job.id, RUNNABLE, {
      status: 'failed',
      error: { code, message, param } as Prisma.InputJsonValue,
      finishedAt: new Date(),
    });
    if (failed)
      await this.log(job, 'error', `Training failed${step !== null ? ` at step ${step}` : ''}: ${message}`, {
        code,
      });
  }

  /** A checkpoint folder's key in the store: `jobs/<job>/checkpoints/step-<n>` (or `…/final`). */
  private keyOf(job: FineTuningJob, dir: string): ArtifactKey {
    return artifactKey('jobs', job.id, 'checkpoints', basename(dir));
  }

  private async log(
    job: FineTuningJob,
    level: 'info' | 'warn' | 'error',
    message: string,
    data?: Record<string, unknown>,
    id = newId('event'),
  ): Promise<void> {
    await this.events.message(job, level, message, { data: (data as Prisma.InputJsonValue) ?? null, id });
  }
}
