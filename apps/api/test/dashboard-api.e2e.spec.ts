import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import { FineTuningJobsRepository } from '@tracetune/db';
import { MATH_GRADER, queryDatabase } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

const rftLine = (a: number, b: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `What is ${a}+${b}?` }], answer: String(a + b) });

interface MetricRow {
  step: number;
  metrics: Record<string, number>;
  created_at: number;
}
interface SseMessage {
  event: string;
  data: unknown;
}

/** Reads `event:`/`data:` blocks from a fetch body until `until` says stop or the stream ends. */
async function readSse(
  response: Response,
  until: (messages: SseMessage[]) => boolean,
): Promise<SseMessage[]> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const messages: SseMessage[] = [];
  let buffer = '';
  try {
    while (!until(messages)) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) messages.push({ event, data: JSON.parse(data) });
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return messages;
}

const metricSteps = (messages: SseMessage[]) =>
  messages
    .filter((m) => m.event === 'metrics')
    .flatMap((m) => (m.data as { data: MetricRow[] }).data.map((row) => row.step));

describe('dashboard API: job metrics and the live job stream (real api, no worker: rows are written with SQL)', () => {
  let api: TestApi;
  let client: OpenAI;
  let jobId: string;
  let trainingFile: string;

  const createJob = async () =>
    (
      await client.fineTuning.jobs.create({
        model: 'tt-nano',
        training_file: trainingFile,
        method: {
          type: 'reinforcement',
          reinforcement: { grader: MATH_GRADER, hyperparameters: { batch_size: 2 } },
        },
      } as unknown as OpenAI.FineTuning.JobCreateParams)
    ).id;

  beforeAll(async () => {
    api = await startTestApi();
    client = api.openai(api.adminKey);
    const file = await client.files.create({
      file: await toFile(Buffer.from([rftLine(1, 2), rftLine(3, 4)].join('\n')), 'd.jsonl'),
      purpose: 'fine-tune',
    });
    trainingFile = file.id;
    jobId = await createJob();
  });
  afterAll(() => api.close());

  const organizationOf = async (id: string) =>
    (
      await queryDatabase<{ organization_id: string }>(
        api.db.url,
        'SELECT organization_id FROM fine_tuning_jobs WHERE id = $1',
        [id],
      )
    )[0].organization_id;

  const writeMetric = async (step: number, metrics: Record<string, number>) =>
    queryDatabase(
      api.db.url,
      'INSERT INTO training_metrics (id, job_id, organization_id, step, metrics) VALUES ($1, $2, $3, $4, $5)',
      [`metric-${jobId}-${step}`, jobId, await organizationOf(jobId), step, JSON.stringify(metrics)],
    );

  const get = (path: string, key = api.adminKey) =>
    fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('should list a job with no metrics as an empty list', async () => {
    const response = await get(`/v1/fine_tuning/jobs/${jobId}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ object: 'list', data: [], has_more: false });
  });

  it('should list every metric row in step order, and only later steps with after_step', async () => {
    await writeMetric(2, { reward: 0.5, accuracy: 0.25 });
    await writeMetric(1, { reward: 0.25, accuracy: 0 });
    await writeMetric(3, { reward: 0.75, accuracy: 0.5 });
    const all = (await (await get(`/v1/fine_tuning/jobs/${jobId}/metrics`)).json()) as { data: MetricRow[] };
    expect(all.data.map((row) => row.step)).toEqual([1, 2, 3]);
    expect(all.data[1]).toMatchObject({ step: 2, metrics: { reward: 0.5, accuracy: 0.25 } });
    expect(typeof all.data[0].created_at).toBe('number');
    const later = (await (await get(`/v1/fine_tuning/jobs/${jobId}/metrics?after_step=2`)).json()) as {
      data: MetricRow[];
    };
    expect(later.data.map((row) => row.step)).toEqual([3]);
  });

  it('should reject a malformed after_step with a 400 in the OpenAI envelope', async () => {
    const response = await get(`/v1/fine_tuning/jobs/${jobId}/metrics?after_step=soon`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('after_step');
  });

  it("should answer 404 for another organization's job, on metrics and on the stream", async () => {
    const other = await api.root(api.adminKey).post<CreatedApiKey>('/admin/api-keys', {
      body: { name: 'other', role: 'member', organization_id: 'org-other' },
    });
    for (const path of [`/v1/fine_tuning/jobs/${jobId}/metrics`, `/v1/fine_tuning/jobs/${jobId}/stream`]) {
      const response = await get(path, other.key);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it('should refuse the stream without a key', async () => {
    const response = await fetch(`${api.url}/v1/fine_tuning/jobs/${jobId}/stream`);
    expect(response.status).toBe(401);
  });

  it('should stream the existing rows, then rows, events and status changes that land after it opened', async () => {
    const response = await get(`/v1/fine_tuning/jobs/${jobId}/stream?after_step=1`);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    let wrote = false;
    const messages = await readSse(response, (seen) => {
      // Once the backlog arrived, write a new step and an event and cancel the job; the stream must deliver all three.
      if (!wrote && metricSteps(seen).includes(3)) {
        wrote = true;
        void (async () => {
          await writeMetric(4, { reward: 1, accuracy: 1 });
          await queryDatabase(
            api.db.url,
            `INSERT INTO fine_tuning_events (id, job_id, organization_id, level, type, message, data) VALUES ($1, $2, $3, 'info', 'metrics', 'Step 4/4', $4)`,
            [
              `ftevent-live-${jobId}`,
              jobId,
              await organizationOf(jobId),
              JSON.stringify({ step: 4, reward: 1 }),
            ],
          );
          await client.fineTuning.jobs.cancel(jobId);
        })();
      }
      return seen.some((m) => m.event === 'end');
    });
    expect(metricSteps(messages)).toEqual([2, 3, 4]);
    const statuses = messages
      .filter((m) => m.event === 'status')
      .map((m) => (m.data as { status: string }).status);
    expect(statuses[0]).toBe('queued');
    expect(statuses[statuses.length - 1]).toBe('cancelled');
    const events = messages
      .filter((m) => m.event === 'event')
      .map((m) => (m.data as { message: string }).message);
    expect(events).toEqual(expect.arrayContaining(['Step 4/4', 'Job cancelled']));
    expect(messages[messages.length - 1]).toEqual({ event: 'end', data: { status: 'cancelled' } });
  }, 20_000);

  it('should stop polling the database once the client disconnects', async () => {
    const live = await createJob();
    const jobs = api.app.get(FineTuningJobsRepository);
    const find = jest.spyOn(jobs, 'find');
    try {
      const response = await get(`/v1/fine_tuning/jobs/${live}/stream`);
      await readSse(response, (seen) => seen.some((m) => m.event === 'status'));
      // One poll may be in flight as the client leaves; after that, no more reads of this job.
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const before = find.mock.calls.filter(([, id]) => id === live).length;
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(find.mock.calls.filter(([, id]) => id === live).length).toBe(before);
    } finally {
      find.mockRestore();
    }
  }, 15_000);

  it('should send the backlog, the status and the end at once for a job that already finished', async () => {
    const started = Date.now();
    const response = await get(`/v1/fine_tuning/jobs/${jobId}/stream`);
    const messages = await readSse(response, () => false);
    expect(messages.map((m) => m.event)).toEqual(['metrics', 'status', 'end']);
    expect(metricSteps(messages)).toEqual([1, 2, 3, 4]);
    // No poll interval was waited: a finished job's stream closes as soon as it has said everything.
    expect(Date.now() - started).toBeLessThan(900);
  });
});
