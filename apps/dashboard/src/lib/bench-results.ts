import type { MetricRow } from './api';

/** One (arm, seed) shard of the learning benchmark's `learning-results.json` (bench/learning, docs/trainer.md). */
interface BenchShard {
  arm: string;
  seed: number;
  evalSteps?: number[];
  evalAccuracy?: number[];
  rewards?: number[];
  gradNorms?: number[];
}

/** A run to compare that is not a job: a benchmark shard, with its metadata for grouping. */
export interface FileRun {
  id: string;
  label: string;
  metadata: Record<string, string>;
  rows: MetricRow[];
}

function isShard(value: unknown): value is BenchShard {
  const v = value as BenchShard;
  return typeof v === 'object' && v !== null && typeof v.arm === 'string' && typeof v.seed === 'number';
}

/**
 * The learning benchmark's results as runs: per step `reward` and `grad_norm` (steps 1…N), `eval_accuracy` at its
 * evaluation steps (0 is the model before RL), `metadata.arm` and `metadata.seed`. Throws on another shape.
 */
export function benchResultsToRuns(json: unknown): FileRun[] {
  const results = (json as { results?: unknown[] } | null)?.results;
  if (!Array.isArray(results) || !results.every(isShard))
    throw new Error('Not a learning benchmark results file: expected {"results": [{"arm", "seed", …}]}');
  return results.map((shard) => {
    const byStep = new Map<number, Record<string, number>>();
    const put = (step: number, name: string, value: number | undefined) => {
      if (typeof value !== 'number' || !Number.isFinite(value)) return;
      byStep.set(step, { ...(byStep.get(step) ?? {}), [name]: value });
    };
    shard.rewards?.forEach((r, i) => put(i + 1, 'reward', r));
    shard.gradNorms?.forEach((g, i) => put(i + 1, 'grad_norm', g));
    shard.evalSteps?.forEach((step, i) => put(step, 'eval_accuracy', shard.evalAccuracy?.[i]));
    const rows = [...byStep.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([step, metrics]) => ({ step, metrics, created_at: 0 }));
    const id = `${shard.arm}-seed${shard.seed}`;
    return { id, label: id, metadata: { arm: shard.arm, seed: String(shard.seed) }, rows };
  });
}
