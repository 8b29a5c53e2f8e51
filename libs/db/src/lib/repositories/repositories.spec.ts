import { Config, loadConfig } from '@tracetune/config';
import { createTestDatabase, type TestDatabase } from '@tracetune/testing';

import { PrismaService } from '../prisma.service';
import { FilesRepository } from './files.repository';
import { FineTuningEventsRepository } from './fine-tuning-events.repository';
import { FineTuningJobsRepository } from './fine-tuning-jobs.repository';
import { ModelsRepository } from './models.repository';
import { TrainingMetricsRepository } from './training-metrics.repository';

describe('repositories (real PostgreSQL)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;

  beforeAll(async () => {
    db = await createTestDatabase();
    prisma = new PrismaService(new Config(loadConfig({ DATABASE_URL: db.url })));
    await prisma.onModuleInit();
    await prisma.organization.createMany({
      data: [
        { id: 'org-a', name: 'A' },
        { id: 'org-b', name: 'B' },
      ],
    });
    await prisma.file.create({
      data: {
        id: 'file-1',
        organizationId: 'org-a',
        filename: 'f',
        purpose: 'fine-tune',
        bytes: 1n,
        status: 'processed',
        storageKey: 'files/org-a/file-1',
        sha256: 'x',
      },
    });
    await prisma.fineTuningJob.create({
      data: {
        id: 'ftjob-1',
        organizationId: 'org-a',
        model: 'tt-nano',
        status: 'queued',
        method: {},
        hyperparameters: {},
        trainingFileId: 'file-1',
        seed: 1,
        resultFiles: [],
      },
    });
  });
  afterAll(async () => {
    await prisma.onModuleDestroy();
    await db.drop();
  });

  it("should never return another organization's rows", async () => {
    const files = new FilesRepository(prisma);
    const jobs = new FineTuningJobsRepository(prisma);
    expect(await files.find('org-a', 'file-1')).not.toBeNull();
    expect(await files.find('org-b', 'file-1')).toBeNull();
    expect(await files.list('org-b', { limit: 10, order: 'desc' })).toEqual([]);
    expect(await jobs.find('org-b', 'ftjob-1')).toBeNull();
    expect(await jobs.list('org-b', { limit: 10 })).toEqual([]);
    expect(await files.delete('org-b', 'file-1')).toBe(false);
    expect(await files.liveJobsUsing('org-a', 'file-1')).toEqual(['ftjob-1']);
  });

  it("should list models that are global or the organization's own", async () => {
    const models = new ModelsRepository(prisma);
    await models.upsert({
      id: 'tt-nano',
      organizationId: null,
      kind: 'base',
      source: 'builtin',
      architecture: {},
    });
    await models.upsert({
      id: 'ft:a',
      organizationId: 'org-a',
      kind: 'fine_tuned',
      source: 'trained',
      architecture: {},
    });
    expect((await models.visible('org-b')).map((m) => m.id)).toEqual(['tt-nano']);
    expect((await models.visible('org-a')).map((m) => m.id).sort()).toEqual(['ft:a', 'tt-nano']);
    expect(await models.findVisible('org-b', 'ft:a')).toBeNull();
  });

  it('should move a job only from the expected statuses (compare-and-set)', async () => {
    const jobs = new FineTuningJobsRepository(prisma);
    expect(await jobs.transition('ftjob-1', ['running'], { status: 'succeeded' })).toBeNull();
    expect((await jobs.transition('ftjob-1', ['queued'], { status: 'running' }))?.status).toBe('running');
    expect((await jobs.transition('ftjob-1', ['running'], { status: 'cancelled' }))?.status).toBe(
      'cancelled',
    );
    // A late write from a worker cannot undo the cancel.
    expect(await jobs.transition('ftjob-1', ['running', 'pausing'], { status: 'succeeded' })).toBeNull();
  });

  it('should count jobs per status across organizations, every status present (metrics)', async () => {
    const counts = await new FineTuningJobsRepository(prisma).countByStatus();
    expect(counts).toEqual({
      validating_files: 0,
      queued: 0,
      running: 0,
      pausing: 0,
      paused: 0,
      succeeded: 0,
      failed: 0,
      cancelled: 1,
    });
  });

  it('should keep one metric row per step and drop replayed ones', async () => {
    const metrics = new TrainingMetricsRepository(prisma);
    for (const step of [1, 2, 3])
      await metrics.record({
        id: `m${step}`,
        jobId: 'ftjob-1',
        organizationId: 'org-a',
        step,
        metrics: { reward: step },
      });
    await metrics.record({
      id: 'm2b',
      jobId: 'ftjob-1',
      organizationId: 'org-a',
      step: 2,
      metrics: { reward: 20 },
    });
    expect(
      (await metrics.list('org-a', 'ftjob-1')).map((m) => [m.step, (m.metrics as { reward: number }).reward]),
    ).toEqual([
      [1, 1],
      [2, 20],
      [3, 3],
    ]);
    await metrics.deleteAfter('ftjob-1', 1);
    expect((await metrics.list('org-a', 'ftjob-1')).map((m) => m.step)).toEqual([1]);
    expect(await metrics.list('org-b', 'ftjob-1')).toEqual([]);
  });

  it('should store events whose text holds NUL characters, and page them newest first', async () => {
    const events = new FineTuningEventsRepository(prisma);
    for (let i = 0; i < 3; i++) {
      await events.add({
        id: `ev${i}`,
        jobId: 'ftjob-1',
        organizationId: 'org-a',
        level: 'info',
        type: 'message',
        message: `m${i}\u0000`,
        data: { sample: 'a\u0000b' },
      });
    }
    const page = await events.list('org-a', 'ftjob-1', { limit: 2 });
    expect(page!.map((e) => e.id)).toEqual(['ev2', 'ev1', 'ev0']);
    expect(page![0].message).toBe('m2\uFFFD');
    expect(page![0].data).toEqual({ sample: 'a\uFFFDb' });
    expect((await events.list('org-a', 'ftjob-1', { after: 'ev1', limit: 2 }))!.map((e) => e.id)).toEqual([
      'ev0',
    ]);
    expect(await events.list('org-b', 'ftjob-1', { limit: 2 })).toEqual([]);
  });

  it('should store an event once when its write is retried with the same id', async () => {
    const events = new FineTuningEventsRepository(prisma);
    const event = {
      id: 'ev-retried',
      jobId: 'ftjob-1',
      organizationId: 'org-a',
      level: 'info' as const,
      type: 'metrics' as const,
      message: 'Step 1/2',
      data: { step: 1 },
    };
    const first = await events.add(event);
    const again = await events.add({ ...event, message: 'Step 1/2 (retried)' });
    expect(again).toMatchObject({ id: 'ev-retried', seq: first.seq, message: 'Step 1/2' });
    const ids = (await events.list('org-a', 'ftjob-1', { limit: 100 }))!.map((e) => e.id);
    expect(ids.filter((id) => id === 'ev-retried')).toHaveLength(1);
  });
});
