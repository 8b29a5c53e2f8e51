import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { resolveAlgorithm, type ResolvedAlgorithm } from '@tracetune/contracts';
import {
  byteModelConfig,
  saveCheckpoint,
  setupBackend,
  TransformerModel,
  type ModelConfig,
} from '@tracetune/model';
import { ByteTokenizer } from '@tracetune/tokenizer';

import type { StepMetrics, TrainingRunSpec } from '../src/lib/contract';
import { generateArithmetic, mathAnswerGrader, toJsonl } from '../src/lib/tasks';

export async function useBackend(choice: 'wasm' | 'cpu' = 'wasm'): Promise<void> {
  const report = await setupBackend(choice);
  if (report.backend !== choice) throw new Error(`backend ${choice} unavailable: ${report.reason}`);
}

/** A byte-vocabulary model small enough for many steps per second. */
export function tinyByteConfig(): ModelConfig {
  return byteModelConfig({ hidden_size: 16, intermediate_size: 32 });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `tt-trainer-${prefix}-`));
}

/** Writes JSONL text to a fresh file and returns its path (the trainer reads data files, never strings). */
export function writeJsonl(text: string): string {
  const path = join(tempDir('data'), 'data.jsonl');
  writeFileSync(path, text);
  return path;
}

/** Writes a random tiny model as an HF directory; `poison` puts NaN into one weight. */
export function writeTinyModel(seed = 1, poison = false): string {
  const dir = tempDir('model');
  const model = TransformerModel.random(tinyByteConfig(), seed);
  if (poison) {
    const w = model.weight('model.norm.weight');
    const values = w.dataSync().slice();
    values[0] = Number.NaN;
    tf.tidy(() => w.assign(tf.tensor(values, w.shape)));
  }
  saveCheckpoint(model, new ByteTokenizer(), dir);
  model.dispose();
  return dir;
}

/** The job defaults (libs/contracts) with tiny groups and completions. */
export function algorithm(overrides: Partial<ResolvedAlgorithm> = {}): ResolvedAlgorithm {
  return resolveAlgorithm(
    { num_generations: 4, max_completion_tokens: 8, micro_batch_size: 1, ...overrides },
    2,
  );
}

export function rlSpec(modelDir: string, overrides: Partial<TrainingRunSpec> = {}): TrainingRunSpec {
  const problems = generateArithmetic({ n: 8, seed: 3, difficulty: 'short' });
  return {
    method: 'reinforcement',
    baseModel: { kind: 'directory', path: modelDir },
    trainingFile: writeJsonl(toJsonl(problems, 'rft')),
    validationFile: writeJsonl(toJsonl(problems.slice(0, 2), 'rft')),
    // Partial credit for a digit in the answer, so that rewards vary between samples of a random model.
    grader: {
      type: 'javascript',
      name: 'digits',
      source: 'function grade(sample, item) { return /[0-9]/.test(sample.output_text) ? 1 : 0; }',
    },
    hyperparameters: {
      n_epochs: 1,
      batch_size: 2,
      learning_rate_multiplier: 1,
      eval_interval: 0,
      eval_samples: 2,
      compute_multiplier: 1,
    },
    algorithm: algorithm(),
    lora: null,
    seed: 7,
    checkpointInterval: 0,
    sampleInterval: 1,
    passThreshold: 1,
    trainer: { baseLearningRate: 1e-2 },
    ...overrides,
  };
}

export { mathAnswerGrader };

/** Metrics without wall-clock numbers (those differ between any two runs). */
export function deterministic(metrics: StepMetrics): StepMetrics {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => !/time|per_second/.test(k)));
}
