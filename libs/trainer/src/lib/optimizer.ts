import * as tf from '@tensorflow/tfjs-core';

import { SafetensorsFile, writeSafetensors } from '@tracetune/model';

/** A trainable variable under a stable, model-independent name (HF weight name, or `<weight>.lora_A|B`). */
export interface NamedVariable {
  name: string;
  variable: tf.Variable;
}

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/**
 * AdamW (Loshchilov & Hutter 2019) in PyTorch's form: decoupled decay w ← w − lr·wd·w, then
 * w ← w − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε). Written here rather than tf.train.adam because its moments must be
 * saved and restored by name for exact resume (tfjs keeps them anonymous) and tfjs has no decoupled decay.
 */
export class AdamW {
  /** Optimiser updates applied so far (t). */
  step = 0;
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();

  constructor(
    private readonly variables: readonly NamedVariable[],
    private readonly config: AdamWConfig,
  ) {
    // A variable shares its initial tensor's data: tidy frees the initial tensor, the variable keeps the data.
    const zeros = (v: tf.Variable): tf.Variable => tf.tidy(() => tf.variable(tf.zerosLike(v), false));
    for (const { name, variable } of variables) {
      this.m.set(name, zeros(variable));
      this.v.set(name, zeros(variable));
    }
  }

  /** One update with `grads` (by the names of `variables`; missing = zero gradient). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    this.step++;
    const { beta1, beta2, epsilon, weightDecay } = this.config;
    const bc1 = 1 - beta1 ** this.step;
    const bc2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    for (const { name, variable } of this.variables) {
      const g = grads.get(name);
      const m = this.m.get(name) as tf.Variable;
      const v = this.v.get(name) as tf.Variable;
      tf.tidy(() => {
        const grad = g ?? tf.zerosLike(variable);
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(grad, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.mul(grad, grad), 1 - beta2)));
        const decayed = weightDecay > 0 ? tf.mul(variable, 1 - lr * weightDecay) : variable;
        const denom = tf.add(tf.div(tf.sqrt(v), bc2Sqrt), epsilon);
        variable.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    }
  }

  /** Writes m and v (F32, exact) with the step in the metadata. */
  save(path: string): void {
    const tensors = this.variables.flatMap(({ name, variable }) =>
      (['m', 'v'] as const).map((kind) => ({
        name: `${kind}/${name}`,
        shape: variable.shape,
        data: () => (kind === 'm' ? this.m : this.v).get(name)?.dataSync() as Float32Array,
      })),
    );
    writeSafetensors(path, tensors, { format: 'pt', step: String(this.step) });
  }

  /** Restores m, v and the step from `save`'s file; every variable must be present with its shape. */
  load(path: string): void {
    const file = new SafetensorsFile(path);
    try {
      this.step = Number(file.metadata['step'] ?? 0);
      for (const { name, variable } of this.variables) {
        for (const kind of ['m', 'v'] as const) {
          const key = `${kind}/${name}`;
          if (!file.tensors.has(key)) throw new Error(`${path} has no optimizer state "${key}"`);
          const { data, shape } = file.read(key);
          if (shape.join('×') !== variable.shape.join('×')) {
            throw new Error(
              `${path}: "${key}" has shape ${shape.join('×')}, the variable ${variable.shape.join('×')}`,
            );
          }
          tf.tidy(() => (kind === 'm' ? this.m : this.v).get(name)?.assign(tf.tensor(data, variable.shape)));
        }
      }
    } finally {
      file.close();
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/** Sums weighted gradients of micro-batches (gradient accumulation), owning its tensors. */
export class GradientAccumulator {
  private readonly sums = new Map<string, tf.Tensor>();

  add(grads: Record<string, tf.Tensor>, names: ReadonlyMap<string, string>): void {
    for (const [variableName, g] of Object.entries(grads)) {
      const name = names.get(variableName) ?? variableName;
      const prev = this.sums.get(name);
      if (prev) {
        this.sums.set(name, tf.add(prev, g));
        prev.dispose();
        g.dispose();
      } else this.sums.set(name, g);
    }
  }

  get grads(): ReadonlyMap<string, tf.Tensor> {
    return this.sums;
  }

  /** The global L2 norm (one download). */
  globalNorm(): number {
    if (this.sums.size === 0) return 0;
    const sq = tf.tidy(() => tf.addN([...this.sums.values()].map((g) => tf.sum(tf.mul(g, g)))));
    const value = Math.sqrt(sq.dataSync()[0]);
    sq.dispose();
    return value;
  }

  /** Scales every gradient (clipping). */
  scale(factor: number): void {
    if (factor === 1) return;
    for (const [name, g] of this.sums) {
      this.sums.set(name, tf.mul(g, factor));
      g.dispose();
    }
  }

  dispose(): void {
    for (const g of this.sums.values()) g.dispose();
    this.sums.clear();
  }
}
