import type { ResolvedLora } from '@tracetune/contracts';
import type { PolicyLossStats, RlConfig } from '@tracetune/rl-core';

import type { BaseModelSource } from '../contract';
import type { SftExample } from '../data';
import type { PackedBatch } from '../sequences';

/** Where each trainable variable lives in the shared weight buffer (float32 elements), in the session's order. */
export interface WeightSlot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

/** What a training thread builds its replica from (workerData). */
export interface ThreadSetup {
  index: number;
  /** The tfjs backend the main thread runs on (wasm or cpu). */
  backend: string;
  baseModel: BaseModelSource;
  seed: number;
  lora: ResolvedLora | null;
  /** Load a frozen copy of the base model for reference log-probs (β > 0). */
  reference: boolean;
  /** RL loss config (reinforcement runs). */
  config: RlConfig | null;
  /** The trainable weights, published by the main thread after every update (no per-step serialisation). */
  weights: SharedArrayBuffer;
  slots: WeightSlot[];
}

/** A prompt a thread samples for: its tokens and text (the grader's item stays on the main thread). */
export interface ThreadPrompt {
  promptTokens: number[];
  promptText: string;
}

/** Rows of an RL gradient shard: what rl-core's loss needs, packed. */
export interface ShardBatch {
  packed: PackedBatch;
  logpOld: number[][];
  logpRef: number[][] | null;
  rewards: number[];
  groupIds: number[];
}

export type ToThread =
  | {
      type: 'sample';
      id: number;
      version: number;
      prompts: ThreadPrompt[];
      settings: {
        groupSize: number;
        maxNewTokens: number;
        temperature: number;
        topP: number;
        seed: number;
        groupOffset: number;
        step?: number;
      };
    }
  | { type: 'reference'; id: number; version: number; batches: PackedBatch[]; temperature: number }
  | {
      type: 'rl-grads';
      id: number;
      version: number;
      shards: { batch: ShardBatch; scale: number }[];
      onPolicy: boolean;
      /** The sampling temperature the log-probs are scored under. */
      temperature: number;
    }
  | { type: 'sft-grads'; id: number; version: number; parts: SftExample[][]; normaliser: number }
  | { type: 'sft-eval'; id: number; version: number; parts: SftExample[][]; normaliser: number };

export interface SampledRow {
  group: number;
  tokens: number[];
  logpOld: number[];
  text: string;
  clipped: boolean;
}

export interface RlShardGradient {
  /** Every trainable's gradient, concatenated in slot order (float32). */
  grads: Float32Array;
  stats: PolicyLossStats;
  entropySum: number | null;
}

export interface SftPartGradient {
  grads: Float32Array;
  loss: number;
}

export interface ThreadFailure {
  message: string;
  /** A TrainingError's fields, rethrown as such on the main thread. */
  code: string | null;
  param: string | null;
  step: number | null;
}

export type FromThread =
  | { type: 'ready' }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'failure'; id: number; failure: ThreadFailure };
