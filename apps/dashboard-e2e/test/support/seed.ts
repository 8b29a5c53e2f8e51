import OpenAI, { toFile } from 'openai';

import { queryDatabase } from '@tracetune/testing';

import type { TestApi } from '../../../api/test/api-test-app';

/**
 * Test data written the way the worker would write it (no worker runs in these tests): jobs are created through the
 * API, then their training metrics, events, checkpoints and models are inserted with SQL.
 */

const rftLine = (a: number, b: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `What is ${a}+${b}?` }], answer: String(a + b) });
export const MATH_GRADER = {
  type: 'math_answer',
  name: 'math',
  input: '{{sample.output_text}}',
  reference: '{{item.answer}}',
};

export async function uploadFile(client: OpenAI, name: string, lines: string[]): Promise<string> {
  return (
    await client.files.create({
      file: await toFile(Buffer.from(lines.join('\n')), name),
      purpose: 'fine-tune',
    })
  ).id;
}

export async function uploadTrainingFile(client: OpenAI): Promise<string> {
  const lines = Array.from({ length: 40 }, (_, i) => rftLine(i + 3, 2 * i + 1));
  return uploadFile(client, 'arithmetic.jsonl', lines);
}

export async function createRun(
  client: OpenAI,
  trainingFile: string,
  options: { suffix: string; algorithm: 'grpo_lambda' | 'grpo' },
): Promise<string> {
  const job = await client.fineTuning.jobs.create({
    model: 'tt-nano',
    training_file: trainingFile,
    suffix: options.suffix,
    method: {
      type: 'reinforcement',
      reinforcement: {
        grader: MATH_GRADER,
        hyperparameters: { batch_size: 4, n_epochs: 10 },
        algorithm: { name: options.algorithm },
      },
    },
  } as unknown as OpenAI.FineTuning.JobCreateParams);
  return job.id;
}

/**
 * Plausible GRPO curves, deterministic: reward rising towards `ceiling` at `rate`, a little seeded wobble, KL growing,
 * length shrinking. Tokens are cumulative so runs can be aligned by sampled tokens.
 */
const meanLength = (step: number, options: { rate: number; phase: number }) =>
  180 - 70 * (1 - Math.exp(-step / options.rate)) + 6 * Math.sin(step + options.phase);
/** Completions per step (batch 4 × 8 generations). */
const COMPLETIONS_PER_STEP = 32;

export function syntheticMetrics(
  step: number,
  options: { rate: number; ceiling: number; phase: number },
): Record<string, number> {
  const progress = 1 - Math.exp(-step / options.rate);
  const wobble =
    0.04 * Math.sin(step * 1.7 + options.phase) + 0.02 * Math.sin(step * 0.45 + 2 * options.phase);
  const reward = Math.max(0, Math.min(1, 0.15 + (options.ceiling - 0.15) * progress + wobble));
  const length = meanLength(step, options);
  let sampledTokens = 0;
  for (let s = 1; s <= step; s++) sampledTokens += Math.round(COMPLETIONS_PER_STEP * meanLength(s, options));
  const metrics: Record<string, number> = {
    reward,
    reward_std: 0.35 - 0.15 * progress,
    accuracy: Math.max(0, Math.min(1, reward - 0.05 + 0.03 * Math.cos(step + options.phase))),
    kl: 0.002 * step * (1 + 0.1 * Math.sin(step)),
    entropy: 1.9 - 0.6 * progress,
    clip_ratio: 0.08 + 0.03 * Math.sin(step * 0.8 + options.phase),
    'completions/mean_length': length,
    grad_norm: 0.9 + 0.3 * Math.cos(step * 0.6 + options.phase),
    learning_rate: step < 5 ? (1e-5 * step) / 5 : 1e-5,
    policy_loss: -0.02 * Math.sin(step * 0.3 + options.phase),
    tokens_per_second: 410 + 25 * Math.sin(step * 0.2),
    // As the trainer logs them: this step's completion tokens and their running total.
    sampled_tokens: Math.round(COMPLETIONS_PER_STEP * length),
    sampled_tokens_total: sampledTokens,
  };
  if (step % 10 === 0) metrics['eval_accuracy'] = Math.max(0, Math.min(1, reward - 0.08));
  return metrics;
}

export class Seeder {
  constructor(private readonly api: TestApi) {}

  private query(sql: string, params: unknown[] = []) {
    return queryDatabase(this.api.db.url, sql, params);
  }

  async organizationOf(jobId: string): Promise<string> {
    const rows = await queryDatabase<{ organization_id: string }>(
      this.api.db.url,
      'SELECT organization_id FROM fine_tuning_jobs WHERE id = $1',
      [jobId],
    );
    return rows[0].organization_id;
  }

  /** Marks a job running at `step` of `total`, finishing in `etaSeconds`, as a worker's heartbeat would. */
  async markRunning(jobId: string, step: number, total: number, etaSeconds: number): Promise<void> {
    await this.query(
      `UPDATE fine_tuning_jobs SET status = 'running', current_step = $2, total_steps = $3, started_at = now(), estimated_finish = now() + make_interval(secs => $4) WHERE id = $1`,
      [jobId, step, total, etaSeconds],
    );
  }

  async setStep(jobId: string, step: number): Promise<void> {
    await this.query('UPDATE fine_tuning_jobs SET current_step = $2 WHERE id = $1', [jobId, step]);
  }

  /** One training_metrics row per step, inserted in one statement. */
  async writeMetrics(
    jobId: string,
    rows: { step: number; metrics: Record<string, number> }[],
  ): Promise<void> {
    const organization = await this.organizationOf(jobId);
    const values: string[] = [];
    const params: unknown[] = [];
    for (const row of rows) {
      const base = params.length;
      values.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5})`);
      params.push(`metric-${jobId}-${row.step}`, jobId, organization, row.step, JSON.stringify(row.metrics));
    }
    await this.query(
      `INSERT INTO training_metrics (id, job_id, organization_id, step, metrics) VALUES ${values.join(', ')}`,
      params,
    );
  }

  async writeEvent(
    jobId: string,
    event: {
      level?: 'info' | 'warn' | 'error';
      type?: 'message' | 'metrics';
      message: string;
      data?: unknown;
    },
  ): Promise<void> {
    await this.query(
      'INSERT INTO fine_tuning_events (id, job_id, organization_id, level, type, message, data) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [
        `ftevent-seed${Math.random().toString(36).slice(2, 14)}`,
        jobId,
        await this.organizationOf(jobId),
        event.level ?? 'info',
        event.type ?? 'message',
        event.message,
        event.data === undefined ? null : JSON.stringify(event.data),
      ],
    );
  }

  /** A fine-tuned model and one servable checkpoint of it, with the checkpoint row the job lists. */
  async writeCheckpoint(
    jobId: string,
    step: number,
    metrics: Record<string, number>,
  ): Promise<{ fineTuned: string; checkpoint: string }> {
    const organization = await this.organizationOf(jobId);
    const fineTuned = `ft:tt-nano:${organization}:lambda:${jobId.slice(6, 14)}`;
    const checkpoint = `${fineTuned}:ckpt-step-${step}`;
    await this.query(
      `INSERT INTO models (id, organization_id, kind, source, architecture, parent_id, job_id) VALUES ($1, $2, 'fine_tuned', 'trained', '{}', 'tt-nano', $3) ON CONFLICT DO NOTHING`,
      [fineTuned, organization, jobId],
    );
    await this.query(
      `INSERT INTO models (id, organization_id, kind, source, architecture, parent_id, job_id) VALUES ($1, $2, 'checkpoint', 'trained', '{}', $3, $4)`,
      [checkpoint, organization, fineTuned, jobId],
    );
    await this.query(
      'INSERT INTO checkpoints (id, job_id, organization_id, step, metrics, artifact_key, model_id) VALUES ($1, $2, $3, $4, $5, $6, $7)',
      [
        `ftckpt-seed${step}${jobId.slice(6, 14)}`,
        jobId,
        organization,
        step,
        JSON.stringify(metrics),
        `jobs/${jobId}/checkpoints/step-${step}`,
        checkpoint,
      ],
    );
    return { fineTuned, checkpoint };
  }
}
