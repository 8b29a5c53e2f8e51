import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveAlgorithm, resolveHyperparameters } from '@tracetune/contracts';
import { generateArithmetic, mathAnswerGrader, runTraining, toJsonl } from '@tracetune/trainer';

export interface GrpoRun {
  model: string;
  steps: number;
  status: string;
  /** Wall time of each step (sampling, grading, update), in ms. */
  step_ms: number[];
  final: Record<string, number>;
}

/**
 * A GRPO-λ job through the trainer, as the worker runs it (sampling with the KV cache, grading, μ updates): `steps`
 * steps of 4 prompts × 8 completions of up to 32 tokens on arithmetic, with each step's wall time.
 */
export async function grpoJob(model: 'tt-nano' | 'tt-mini', steps: number, quick: boolean): Promise<GrpoRun> {
  const dir = mkdtempSync(join(tmpdir(), 'tt-bench-gpu-'));
  try {
    const batch = quick ? 2 : 4;
    const problems = generateArithmetic({ n: batch * steps, seed: 5, difficulty: 'short' });
    const trainingFile = join(dir, 'train.jsonl');
    writeFileSync(trainingFile, toJsonl(problems, 'rft'));
    const hyperparameters = resolveHyperparameters(
      'reinforcement',
      { n_epochs: 1, batch_size: batch, eval_interval: 0 },
      problems.length,
    );
    const algorithm = resolveAlgorithm(
      {
        name: 'grpo_lambda',
        lambda: 0.99,
        num_generations: quick ? 4 : 8,
        max_completion_tokens: quick ? 8 : 32,
      },
      batch,
    );
    const marks: number[] = [performance.now()];
    const outcome = await runTraining(
      {
        method: 'reinforcement',
        baseModel: { kind: 'builtin', name: model },
        trainingFile,
        grader: mathAnswerGrader(),
        hyperparameters,
        algorithm,
        lora: null,
        seed: 1,
        checkpointInterval: 0,
        sampleInterval: 0,
        passThreshold: 1,
        trainer: { maxSteps: steps },
      },
      { checkpointRoot: join(dir, 'out'), callbacks: { onStep: () => void marks.push(performance.now()) } },
    );
    const step_ms = marks.slice(1).map((t, i) => Math.round(t - marks[i]));
    const final = Object.fromEntries(
      Object.entries(outcome.finalMetrics).filter(([k]) => /^(reward|loss|grad_norm|entropy)$/.test(k)),
    );
    return { model, steps: outcome.step, status: outcome.status, step_ms, final };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
