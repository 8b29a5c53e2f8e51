import { createGrader } from '@tracetune/graders';
import { loadCheckpoint } from '@tracetune/model';

import { TrainingError } from './contract';
import { parseJsonl, toRlExamples } from './data';
import { evaluateRl } from './evaluate';
import { localSampler } from './rl';

export interface EvaluateModelOptions {
  /** Samples per prompt for sampled accuracy and pass@k (0 = greedy only). */
  samples: number;
  maxCompletionTokens: number;
  temperature: number;
  topP: number;
  passThreshold: number;
  seed: number;
  graderConcurrency?: number;
  judge?: { baseURL: string; apiKey: string } | null;
}

/** Validation metrics (`eval_*`, as in training) of an HF-layout model directory on RFT JSONL with a grader. */
export async function evaluateModelDir(
  modelDir: string,
  jsonl: string,
  graderJson: unknown,
  options: EvaluateModelOptions,
): Promise<Record<string, number>> {
  const examplesLines = parseJsonl(jsonl, 'reinforcement', 'data');
  let loaded;
  try {
    loaded = loadCheckpoint(modelDir);
  } catch (e) {
    throw new TrainingError('model_load_failed', `Cannot load ${modelDir}: ${(e as Error).message}`, 'model');
  }
  const grader = createGrader(graderJson, options.judge ? { judge: options.judge } : {});
  try {
    const examples = toRlExamples(examplesLines, loaded.tokenizer);
    return await evaluateRl(localSampler(loaded.model, loaded.tokenizer), grader, examples, {
      samples: options.samples,
      maxNewTokens: options.maxCompletionTokens,
      temperature: options.temperature,
      topP: options.topP,
      passThreshold: options.passThreshold,
      seed: options.seed,
      graderConcurrency: options.graderConcurrency ?? 8,
    });
  } finally {
    grader.dispose();
    loaded.model.dispose();
  }
}
