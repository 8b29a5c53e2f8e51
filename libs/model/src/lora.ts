import * as tf from '@tensorflow/tfjs-core';

import { matmul } from './ops';
import { Rng } from './rng';

/** The projections LoRA can adapt (HF/PEFT `target_modules` names). */
export const LORA_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/**
 * LoRA (Hu et al. 2021): W' = W + (α/r)·A·B with A [in, r], B [r, out] (our weights are stored [in, out]).
 * A starts random (U(±1/√in), PEFT's kaiming-uniform), B at zero, so an adapted model starts identical to its base.
 */
export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Dropout on the adapter input while training (PEFT `lora_dropout`). */
  dropout: number;
  targets: LoraTarget[];
}

export function validateLoraConfig(c: LoraConfig): LoraConfig {
  if (!Number.isInteger(c.rank) || c.rank < 1)
    throw new Error(`LoRA rank must be a positive integer (got ${c.rank})`);
  if (!(c.alpha > 0)) throw new Error(`LoRA alpha must be > 0 (got ${c.alpha})`);
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new Error(`LoRA dropout must be in [0, 1) (got ${c.dropout})`);
  if (c.targets.length === 0) throw new Error('LoRA needs at least one target projection');
  for (const t of c.targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new Error(`Unknown LoRA target "${t}"; known: ${LORA_TARGETS.join(', ')}`);
    }
  }
  return c;
}

const MODULE_PREFIX: Record<LoraTarget, string> = {
  q_proj: 'self_attn',
  k_proj: 'self_attn',
  v_proj: 'self_attn',
  o_proj: 'self_attn',
  gate_proj: 'mlp',
  up_proj: 'mlp',
  down_proj: 'mlp',
};

/** The LoRA adapters of one model: A [in, r] and B [r, out] for each adapted base weight, by its HF name. */
export class LoraAdapters {
  readonly scale: number;

  private constructor(
    readonly config: LoraConfig,
    private readonly a: Map<string, tf.Variable>,
    private readonly b: Map<string, tf.Variable>,
  ) {
    this.scale = config.alpha / config.rank;
  }

  /**
   * Adapters for every target projection of every layer. PEFT initialises A with kaiming-uniform(a=√5), i.e.
   * U(±1/√in), and B with zeros, so the adapted model starts identical to its base.
   */
  static create(
    config: LoraConfig,
    layers: number,
    weight: (name: string) => tf.Variable,
    variablePrefix: string,
    seed: number,
  ): LoraAdapters {
    validateLoraConfig(config);
    const rng = new Rng(seed);
    const a = new Map<string, tf.Variable>();
    const b = new Map<string, tf.Variable>();
    for (let l = 0; l < layers; l++) {
      for (const t of config.targets) {
        const name = `model.layers.${l}.${MODULE_PREFIX[t]}.${t}.weight`;
        const [inDim, outDim] = weight(name).shape;
        const bound = 1 / Math.sqrt(inDim);
        const aData = new Float32Array(inDim * config.rank);
        for (let i = 0; i < aData.length; i++) aData[i] = (2 * rng.next() - 1) * bound;
        a.set(
          name,
          tf.variable(tf.tensor2d(aData, [inDim, config.rank]), true, `${variablePrefix}${name}.lora_A`),
        );
        b.set(name, tf.variable(tf.zeros([config.rank, outDim]), true, `${variablePrefix}${name}.lora_B`));
      }
    }
    return new LoraAdapters(config, a, b);
  }

  /** The adapted base weights' names. */
  targets(): string[] {
    return [...this.a.keys()];
  }

  /** The trainable variables: every A, then every B. */
  variables(): tf.Variable[] {
    return [...this.a.values(), ...this.b.values()];
  }

  /** The adapter variables by name (`<weight>.lora_A` [in, r], `<weight>.lora_B` [r, out]). */
  named(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [n, v] of this.a) out.set(`${n}.lora_A`, v);
    for (const [n, v] of this.b) out.set(`${n}.lora_B`, v);
    return out;
  }

  /**
   * The adapter's term of x·W' for the weight `name`, (α/r)·dropout(x)·A·B: x [N, in] → [N, out]; null when the weight
   * has no adapter. `dropout` (the model's dropout stream) only while training.
   */
  term(x: tf.Tensor2D, name: string, dropout: Rng | null): tf.Tensor2D | null {
    const a = this.a.get(name);
    if (!a) return null;
    const rate = dropout ? this.config.dropout : 0;
    const xIn = rate > 0 && dropout ? tf.dropout(x, rate, undefined, dropout.nextUint32()) : x;
    const low = matmul(matmul(xIn as tf.Tensor2D, a as tf.Tensor2D), this.b.get(name) as tf.Tensor2D);
    return tf.mul(low, this.scale);
  }

  /** (α/r)·A·B [in, out], the change the adapter makes to its weight; null when the weight has none. */
  delta(name: string): tf.Tensor2D | null {
    const a = this.a.get(name);
    if (!a) return null;
    return tf.mul(tf.matMul(a as tf.Tensor2D, this.b.get(name) as tf.Tensor2D), this.scale);
  }

  dispose(): void {
    for (const v of this.variables()) v.dispose();
  }
}
