/** What a run (or a shard of one) records, and merging shards into one set of results. */
import { readFileSync, writeFileSync } from 'node:fs';

import { ARMS, type BenchConfig } from './config';

export interface BaseEval {
  /** Held-out greedy accuracy of the warm-up. */
  accuracy: number;
  meanLength: number;
}

export interface RunResult {
  arm: string;
  seed: number;
  evalSteps: number[];
  evalAccuracy: number[];
  /** One value per RL step (NaN where the step did not log the metric). */
  series: {
    gradNorm: number[];
    /** Fraction of the step's updates that were clipped. */
    gradClipped: number[];
    reward: number[];
    entropy: number[];
    /** Mean line of the first error over the step's wrong completions (9 = the answer line). */
    firstErrorLine: number[];
    length: number[];
  };
  phase: Record<string, number>;
  seconds: number;
}

/** The JSON a shard writes (`--json-out`) and the merge writes (`--results`). */
export interface ResultsFile {
  config: BenchConfig;
  base: BaseEval;
  results: RunResult[];
}

/** Runs in a canonical order (arms as in {@link ARMS}, then seed), so one process and merged shards agree. */
export function sortRuns(runs: readonly RunResult[]): RunResult[] {
  const rank = (arm: string): number => ARMS.findIndex((a) => a.name === arm);
  return [...runs].sort((a, b) => rank(a.arm) - rank(b.arm) || a.seed - b.seed);
}

export function writeResults(path: string, data: ResultsFile): void {
  writeFileSync(path, JSON.stringify({ ...data, results: sortRuns(data.results) }, null, 1) + '\n');
}

/** Loads shards and checks they share the config and the warm-up's accuracy, and repeat no (arm, seed). */
export function mergeResults(paths: readonly string[]): ResultsFile {
  const shards = paths.map((p) => ({ path: p, data: JSON.parse(readFileSync(p, 'utf8')) as ResultsFile }));
  if (!shards.length) throw new Error('--merge: no files');
  const [first] = shards;
  const key = JSON.stringify(first.data.config);
  const runs: RunResult[] = [];
  for (const { path, data } of shards) {
    if (JSON.stringify(data.config) !== key)
      throw new Error(
        `--merge: ${path} has another config than ${first.path}:\n  ${JSON.stringify(data.config)}\n  ${key}`,
      );
    if (data.base.accuracy !== first.data.base.accuracy)
      throw new Error(
        `--merge: ${path} measured another warm-up accuracy (${data.base.accuracy} vs ${first.data.base.accuracy})`,
      );
    for (const r of data.results) {
      if (runs.some((o) => o.arm === r.arm && o.seed === r.seed))
        throw new Error(`--merge: ${r.arm} seed ${r.seed} appears twice (${path})`);
      runs.push(r);
    }
  }
  return { config: first.data.config, base: first.data.base, results: sortRuns(runs) };
}
