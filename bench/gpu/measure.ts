import * as tf from '@tensorflow/tfjs-core';

import {
  backendMemoryLimitBytes,
  decodeStep,
  LORA_TARGETS,
  parameterCount,
  prefillBatch,
  TransformerModel,
} from '@tracetune/model';

import { AdamW } from '../../libs/trainer/src/lib/optimizer';
import { DECODE_BATCHES, type BenchShape } from './shapes';

export interface Row {
  model: string;
  mode: 'full' | 'lora';
  train_step_ms: number | null;
  /** Decode tokens/s by batch size (measured once per model, on the full model). */
  decode_tokens_per_s: Record<string, number | null>;
  note?: string;
}

export const LORA = { rank: 16, alpha: 32, dropout: 0, targets: [...LORA_TARGETS] };

function ids(rows: number, cols: number, vocab: number, seed: number): number[][] {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2147483648) % Math.min(vocab, 30000);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, next));
}

/** Median time of `runs` train steps (forward + backward + AdamW) after `warmup`, with a host read at each end. */
function trainStepMs(
  model: TransformerModel,
  shape: BenchShape,
  lora: boolean,
  runs: number,
  warmup: number,
): number {
  const source = lora ? model.loraWeights() : model.namedWeights();
  const vars = [...source].map(([name, variable]) => ({ name, variable }));
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 });
  const { batch, seq } = shape.train;
  const input = ids(batch, seq, shape.config.vocab_size, 1);
  const target = ids(batch, seq, shape.config.vocab_size, 2);
  const step = (): void => {
    const { value, grads } = tf.variableGrads(
      () => tf.neg(tf.mean(model.logProbsOfTargets(input, target).logProbs)) as tf.Scalar,
      vars.map((v) => v.variable),
    );
    opt.apply(new Map(vars.map((v) => [v.name, grads[v.variable.name]])), 1e-5);
    value.dataSync(); // waits for the device: the step is done
    tf.dispose([value, grads]);
  };
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  opt.dispose();
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Greedy next tokens of each row's logits (sampling cost is the same on every backend: host-side JS). */
function argmaxRows(rows: Float32Array[]): number[] {
  return rows.map((r) => r.reduce((best, v, i) => (v > r[best] ? i : best), 0));
}

/** Decode tokens/s with the KV cache at each batch size: `tokens` decode steps after a batched prefill (not timed). */
function decodeRates(model: TransformerModel, shape: BenchShape): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of DECODE_BATCHES) {
    const prompts = ids(b, shape.decode.prompt, shape.config.vocab_size, 3 + b);
    const run = (steps: number): number => {
      const { cache, logits } = prefillBatch(model, prompts);
      let next = argmaxRows(logits);
      const t0 = performance.now();
      for (let i = 0; i < steps; i++) next = argmaxRows(decodeStep(model, cache, next));
      const ms = performance.now() - t0;
      cache.dispose();
      return ms;
    };
    run(2); // warm-up: kernels compiled for these shapes
    out[String(b)] = (b * shape.decode.tokens) / (run(shape.decode.tokens) / 1000);
  }
  return out;
}

/** Why a configuration cannot be trained (or, with `inference`, even held) on the active backend, or null. */
function refusal(shape: BenchShape, bytesPerParameter: number): string | null {
  const limit = backendMemoryLimitBytes();
  if (limit === null) return null;
  const bytes = parameterCount(shape.config) * bytesPerParameter;
  return bytes > limit
    ? `needs ≈ ${(bytes / 2 ** 30).toFixed(1)} GiB, over the backend's ${limit / 2 ** 30} GiB`
    : null;
}

/** Bytes per parameter: weights (+ derived copies) to decode; weights, gradients, m and v to train fully. */
const BYTES = { decode: 8, full: 16, lora: 8 };

function measureMode(shape: BenchShape, mode: 'full' | 'lora', opts: { runs: number; warmup: number }): Row {
  const row: Row = { model: shape.name, mode, train_step_ms: null, decode_tokens_per_s: {} };
  const cannotTrain = refusal(shape, BYTES[mode]);
  const decode = mode === 'full' && !refusal(shape, BYTES.decode);
  if (cannotTrain && !decode) return { ...row, note: cannotTrain };
  const model = TransformerModel.random(shape.config, 0);
  try {
    if (decode) row.decode_tokens_per_s = decodeRates(model, shape);
    if (cannotTrain) row.note = `train step: ${cannotTrain}`;
    else {
      if (mode === 'lora') model.addLora(LORA, 1);
      row.train_step_ms = trainStepMs(model, shape, mode === 'lora', opts.runs, opts.warmup);
    }
  } catch (e) {
    row.note = `failed: ${(e as Error).message.split('\n')[0]}`;
  } finally {
    model.dispose();
  }
  return row;
}

/** Full and LoRA rows of one model; `onRow` sees each as soon as it is measured (partial results survive a timeout). */
export function measure(
  shape: BenchShape,
  opts: { runs: number; warmup: number },
  onRow: (r: Row) => void,
): Row[] {
  return (['full', 'lora'] as const).map((mode) => {
    const row = measureMode(shape, mode, opts);
    onRow(row);
    return row;
  });
}
