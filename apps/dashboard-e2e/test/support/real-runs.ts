import OpenAI from 'openai';

import { startApp, type RunningProcess } from '@tracetune/testing';

import type { TestApi } from '../../../api/test/api-test-app';
import { uploadFile } from './seed';

/**
 * Real training for the browser tests: a worker process trains tt-nano with supervised fine-tuning, then a few
 * GRPO-λ and GRPO steps from that model (two seeds per arm, told apart by `metadata.arm`), so the run pages, samples,
 * credit view and comparisons show what a real job logs. Tiny settings keep the whole set to about a minute.
 */

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Rewards the share of digits in the answer: graded (not 0/1), so groups differ and advantages are not all 0. */
const DIGIT_GRADER = {
  type: 'javascript',
  name: 'digits',
  source:
    'function grade(sample) { const t = sample.output_text; return t.length ? (t.match(/[0-9]/g) || []).length / t.length : 0; }',
};

const chatLine = (a: number, b: number) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: `${a}+${b}=` },
      { role: 'assistant', content: String(a + b) },
    ],
  });
const rftLine = (a: number, b: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `${a}+${b}=` }], answer: String(a + b) });

export interface RealRuns {
  sft: OpenAI.FineTuning.FineTuningJob;
  /** GRPO-λ seeds 1 and 2, then GRPO seeds 1 and 2 (same data, same prompts at each step for a given seed). */
  lambda: OpenAI.FineTuning.FineTuningJob[];
  grpo: OpenAI.FineTuning.FineTuningJob[];
}

async function finished(
  client: OpenAI,
  id: string,
  worker: RunningProcess,
): Promise<OpenAI.FineTuning.FineTuningJob> {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (TERMINAL.includes(job.status)) {
      if (job.status !== 'succeeded')
        throw new Error(
          `job ${id} ${job.status}: ${JSON.stringify(job.error)}\n${worker.output().slice(-3000)}`,
        );
      return job;
    }
    if (Date.now() > deadline) throw new Error(`job ${id} did not finish\n${worker.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

function rlJob(
  model: string,
  file: string,
  arm: 'grpo_lambda' | 'grpo',
  seed: number,
): OpenAI.FineTuning.JobCreateParams {
  return {
    model,
    training_file: file,
    seed,
    suffix: `${arm === 'grpo' ? 'grpo' : 'lambda'}-s${seed}`,
    metadata: { arm, seed: String(seed) },
    method: {
      type: 'reinforcement',
      reinforcement: {
        grader: DIGIT_GRADER,
        hyperparameters: { batch_size: 2, n_epochs: 1 },
        algorithm: { name: arm, num_generations: 4, max_completion_tokens: 16, beta: 0, ppo_epochs: 2 },
      },
    },
  } as unknown as OpenAI.FineTuning.JobCreateParams;
}

/** Starts a worker on the api's queue, runs the jobs one after another, and stops it (no job is left queued). */
export async function runRealJobs(api: TestApi, client: OpenAI, dataDir: string): Promise<RealRuns> {
  const worker = await startApp('worker', {
    DATABASE_URL: api.db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
    TRACETUNE_DATA_DIR: dataDir,
    TRACETUNE_BACKEND: 'wasm',
    TRACETUNE_WORKER_ID: 'worker-e2e',
  });
  try {
    const sftFile = await uploadFile(
      client,
      'sums-chat.jsonl',
      Array.from({ length: 16 }, (_, i) => chatLine(i + 2, i + 5)),
    );
    const sftJob = await client.fineTuning.jobs.create({
      model: 'tt-nano',
      training_file: sftFile,
      suffix: 'sft',
      seed: 1,
      method: {
        type: 'supervised',
        supervised: { hyperparameters: { batch_size: 4, n_epochs: 3, learning_rate_multiplier: 3 } },
      },
    } as unknown as OpenAI.FineTuning.JobCreateParams);
    const sft = await finished(client, sftJob.id, worker);
    const rlFile = await uploadFile(
      client,
      'sums-rft.jsonl',
      Array.from({ length: 8 }, (_, i) => rftLine(i + 3, 2 * i + 1)),
    );
    const run = async (arm: 'grpo_lambda' | 'grpo', seed: number) =>
      finished(
        client,
        (await client.fineTuning.jobs.create(rlJob(sft.fine_tuned_model as string, rlFile, arm, seed))).id,
        worker,
      );
    const lambda = [await run('grpo_lambda', 1), await run('grpo_lambda', 2)];
    const grpo = [await run('grpo', 1), await run('grpo', 2)];
    return { sft, lambda, grpo };
  } finally {
    await worker.stop();
  }
}
