import * as tf from '@tensorflow/tfjs-core';

// tfjs-core alone registers no gradients (see libs/tfjs-gradients). Needed for training.
import '@tracetune/tfjs-gradients';

import { CausalAttention, type Attention } from './attention';
import { parameterCount, type ModelConfig } from './config';
import { assertFitsBackend } from './fit';
import { packedMatMul } from './kernels/matmul';
import { LoraAdapters, type LoraConfig } from './lora';
import { CausalMasks, rangePositions } from './masks';
import { logSumExp, matmul, rmsNorm, rotateHalfMatrix, silu } from './ops';
import {
  FusedProjections,
  packedLinear,
  PlainProjections,
  variableLinear,
  type Projections,
} from './projections';
import { Rng } from './rng';
import { ServingWeights } from './serving-weights';
import { modelShape, tensorSpecs, type TensorSpec } from './weights';

/** The new tokens of a forward pass: B rows of T tokens. */
export interface ForwardInput {
  ids: tf.Tensor1D; // [B*T] int32
  batch: number;
  time: number;
  /** Position (RoPE index) of every new token, [B*T]. */
  positions: Int32Array;
  /** Training mode: enables LoRA dropout. */
  training?: boolean;
}

export interface LogProbOptions {
  /** Also return the per-token entropy of the model's distribution. */
  entropy?: boolean;
  training?: boolean;
  /** Score under softmax(logits / temperature) (default 1: the raw model); the entropy is that distribution's. */
  temperature?: number;
}

export type LogProbResult = {
  logProbs: tf.Tensor2D; // [B, T]
  entropy?: tf.Tensor2D; // [B, T]
};

export type TokenBatch = number[][] | tf.Tensor2D;

/** What every layer of one forward pass uses, chosen once per pass. */
interface Pass {
  B: number;
  T: number;
  projections: Projections;
  attention: Attention;
}

/**
 * Decoder-only transformer of the Llama/Qwen2/Qwen3 family, nanoGPT-sized on purpose: `forward` is embed → blocks →
 * norm, `head` the output projection, each block a few lines. Weights are tfjs Variables named as in HF checkpoints;
 * Linear weights are kept [in, out] so every projection is a flag-free 2-D matmul (fast on wasm/XNNPACK). Activations
 * flow as 2-D [B*T, C] between layers. The fast paths sit behind two seams chosen once per pass: the Projections
 * (projections.ts: plain, or fused and packed for inference) and the Attention (attention.ts: causal, a KVCache, a
 * SlotCache). Serving weights (packing, freezing) are in serving-weights.ts, LoRA in lora.ts, masks in masks.ts.
 */
export class TransformerModel {
  readonly config: ModelConfig;
  private readonly weights = new Map<string, tf.Variable>();
  private lora: LoraAdapters | null = null;
  private readonly rotate: tf.Tensor2D; // [D, D], rotate_half as a matrix (ops.ts)
  private readonly masks = new CausalMasks();
  private readonly dropoutRng: Rng;
  private readonly serving: ServingWeights;
  /** tfjs variable names are global: each model prefixes its HF names with a unique id (`m3/model.norm.weight`). */
  readonly variablePrefix: string;
  private static nextId = 0;

  private constructor(config: ModelConfig, seed: number) {
    if (config.head_dim % 2 !== 0) throw new Error(`head_dim must be even for RoPE (got ${config.head_dim})`);
    assertFitsBackend(config); // before any weight is read or allocated
    this.config = config;
    this.dropoutRng = new Rng(seed ^ 0x5eed);
    this.variablePrefix = `m${TransformerModel.nextId++}/`;
    this.rotate = tf.keep(tf.tensor2d(rotateHalfMatrix(config.head_dim), [config.head_dim, config.head_dim]));
    this.serving = new ServingWeights(config, {
      weight: (name) => this.weight(name),
      release: (name) => {
        const w = this.weights.get(name);
        if (w && !w.isDisposed) w.dispose();
      },
    });
  }

  /** A model with HF's init (normal std 0.02 for matrices, ones for norms, zeros for biases) from a seed. */
  static random(config: ModelConfig, seed = 0): TransformerModel {
    const model = new TransformerModel(config, seed);
    const rng = new Rng(seed);
    for (const spec of tensorSpecs(config)) {
      const shape = modelShape(spec);
      const size = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (spec.init === 'ones') data.fill(1);
      else if (spec.init === 'normal') for (let i = 0; i < size; i++) data[i] = 0.02 * rng.normal();
      model.weights.set(spec.name, ownedVariable(data, shape, model.variablePrefix + spec.name));
    }
    return model;
  }

  /**
   * A model from tensors already in model layout (see `modelShape`), e.g. from the checkpoint loader. Every tensor of
   * `tensorSpecs(config)` must be provided; `get` returns its data and is called once per tensor, so the caller can
   * stream tensors from disk one at a time.
   */
  static fromTensors(
    config: ModelConfig,
    get: (spec: TensorSpec) => Float32Array,
    seed = 0,
  ): TransformerModel {
    const model = new TransformerModel(config, seed);
    try {
      for (const spec of tensorSpecs(config)) {
        const data = get(spec);
        model.weights.set(spec.name, ownedVariable(data, modelShape(spec), model.variablePrefix + spec.name));
      }
    } catch (e) {
      model.dispose();
      throw e;
    }
    return model;
  }

  /** Weight variable by HF name (model layout). */
  weight(name: string): tf.Variable {
    const w = this.weights.get(name);
    if (!w) throw new Error(`No weight named ${name}`);
    return w;
  }

  /** All base weights by HF name (model layout: Linear weights [in, out]). */
  namedWeights(): ReadonlyMap<string, tf.Variable> {
    this.assertNotFrozen('its weights');
    return this.weights;
  }

  /** The variables an optimizer should update: the LoRA adapters when present (base frozen), else all weights. */
  trainableVariables(): tf.Variable[] {
    this.assertNotFrozen('training');
    return this.lora ? this.lora.variables() : [...this.weights.values()];
  }

  parameterCount(): number {
    return parameterCount(this.config);
  }

  /**
   * Makes this a serving-only model on the wasm backend: builds every packed inference weight now, whatever the model's
   * size, and releases the variables they replace (every projection, an untied head), layer by layer, so the weights
   * are held once, in the layout the matmul kernel reads (for a 0.5B Qwen2 2.43 GiB instead of 2.79, and no matmul
   * left to tfjs). Afterwards the model serves inference passes only: gradients, LoRA and reading the weights throw.
   * Nothing happens on other backends, whose matmuls read the variables.
   */
  freezeForServing(): void {
    if (!this.serving.canFreeze()) return;
    if (this.lora) throw new Error('freezeForServing: merge or remove the LoRA adapters first');
    this.serving.freeze();
  }

  /** Whether freezeForServing has run. */
  get frozenForServing(): boolean {
    return this.serving.frozen;
  }

  // ---------------------------------------------------------------- LoRA (lora.ts)

  /** Adds LoRA adapters and freezes the base weights. A ~ U(±1/√in), B = 0, so outputs start unchanged. */
  addLora(config: LoraConfig, seed = 0): void {
    this.assertNotFrozen('LoRA adapters');
    if (this.lora) throw new Error('This model already has LoRA adapters; merge or remove them first');
    const lora = LoraAdapters.create(
      config,
      this.config.num_hidden_layers,
      (name) => this.weight(name),
      this.variablePrefix,
      seed,
    );
    for (const w of this.weights.values()) w.trainable = false;
    this.lora = lora;
  }

  loraConfig(): LoraConfig | null {
    return this.lora?.config ?? null;
  }

  /** The adapter variables by name (`<weight>.lora_A` [in, r], `<weight>.lora_B` [r, out]). */
  loraWeights(): Map<string, tf.Variable> {
    return this.lora?.named() ?? new Map();
  }

  /** Folds the adapters into the base weights (W ← W + (α/r)·A·B), removes them and unfreezes the base. */
  mergeLora(): void {
    const lora = this.lora;
    if (!lora) throw new Error('This model has no LoRA adapters to merge');
    for (const name of lora.targets()) {
      const w = this.weight(name);
      tf.tidy(() => w.assign(tf.add(w, lora.delta(name) as tf.Tensor2D)));
    }
    this.removeLora();
  }

  /** A weight with its LoRA delta folded in (a new tensor the caller disposes); the base weight when unadapted. */
  effectiveWeight(name: string): tf.Tensor {
    const w = this.weight(name);
    const lora = this.lora;
    return tf.tidy(() => {
      const delta = lora?.delta(name);
      return delta ? tf.add(w, delta) : tf.clone(w);
    });
  }

  /** Drops the adapters without merging and unfreezes the base weights. */
  removeLora(): void {
    if (!this.lora) return;
    this.lora.dispose();
    this.lora = null;
    for (const w of this.weights.values()) w.trainable = true;
  }

  // ---------------------------------------------------------------- forward

  /** Logits [B, T, V] of a rectangular batch (positions 0..T−1, causal attention; pad on the right). */
  logits(inputIds: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const { ids, batch, time } = this.toIds(inputIds);
      const hidden = this.forward({ ids, batch, time, positions: rangePositions(batch, time) }); // [B*T, C]
      return tf.reshape(this.head(hidden), [batch, time, this.config.vocab_size]); // [B*T, V] → [B, T, V]
    });
  }

  /**
   * log p(targets[b, t] | inputIds[b, ≤t]) → [B, T], computed as gathered logit − logsumexp(logits) so that no
   * log-softmax [B, T, V] is kept beyond the logits themselves. With `entropy`, also H = lse − Σ p·logit.
   * Differentiable with respect to `trainableVariables()`; call inside tf.variableGrads for training.
   */
  logProbsOfTargets(inputIds: TokenBatch, targets: TokenBatch, options: LogProbOptions = {}): LogProbResult {
    return tf.tidy(() => {
      const { ids, batch, time } = this.toIds(inputIds);
      const tgt = this.toIds(targets);
      if (tgt.batch !== batch || tgt.time !== time) {
        throw new Error(
          `targets shape [${tgt.batch}, ${tgt.time}] differs from inputIds [${batch}, ${time}]`,
        );
      }
      const V = this.config.vocab_size;
      const positions = rangePositions(batch, time);
      const hidden = this.forward({ ids, batch, time, positions, training: options.training }); // [B*T, C]
      const temperature = options.temperature ?? 1;
      if (!(temperature > 0))
        throw new Error(`temperature must be > 0 to score log-probs, got ${temperature}`);
      const raw = this.head(hidden); // [B*T, V]
      const logits = temperature === 1 ? raw : (tf.div(raw, temperature) as tf.Tensor2D);
      const lse = logSumExp(logits); // [B*T]
      const flatIndex = tf.add(tf.mul(tf.range(0, batch * time, 1, 'int32'), tf.scalar(V, 'int32')), tgt.ids); // row*V + target
      const picked = tf.gather(tf.reshape(logits, [-1]), flatIndex); // [B*T]
      const logProbs = tf.reshape(tf.sub(picked, lse), [batch, time]) as tf.Tensor2D; // [B, T]
      if (!options.entropy) return { logProbs };
      const p = tf.exp(tf.sub(logits, tf.expandDims(lse, -1))); // [B*T, V]
      const ent = tf.sub(lse, tf.sum(tf.mul(p, logits), -1));
      return { logProbs, entropy: tf.reshape(ent, [batch, time]) as tf.Tensor2D }; // [B, T] each
    });
  }

  /** Output head: final hidden [N, C] → logits [N, V] (tied: embeddingᵀ). */
  head(hidden: tf.Tensor2D): tf.Tensor2D {
    const tied = this.config.tie_word_embeddings;
    const source = tied ? 'model.embed_tokens.weight' : 'lm_head.weight';
    if (this.serving.packedInference())
      return packedMatMul(hidden, this.serving.packed('head', source, tied));
    const w = tied ? tf.transpose(this.weight(source) as tf.Tensor2D) : (this.weight(source) as tf.Tensor2D); // [C, V]
    return matmul(hidden, w);
  }

  /**
   * The transformer body: embeddings → blocks → final norm, hidden [B*T, C] for the head. `attention` keeps and attends
   * over the keys and values (attention.ts); by default causally over the pass's own tokens. Must run inside a tidy
   * (public callers do).
   */
  forward(input: ForwardInput, attention?: Attention): tf.Tensor2D {
    const { batch: B, time: T } = input;
    const c = this.config;
    const pass: Pass = {
      B,
      T,
      projections: this.projections(input.positions, input.training === true),
      attention:
        attention ?? new CausalAttention(this.masks.get(T, c.num_attention_heads / c.num_key_value_heads)),
    };
    let x = tf.gather(this.weight('model.embed_tokens.weight'), input.ids) as tf.Tensor2D; // [B*T, C]
    for (let l = 0; l < c.num_hidden_layers; l++) x = this.block(l, x, pass);
    return this.norm('model.norm', x);
  }

  /** One decoder layer (pre-norm): x + attention(norm(x)), then x + mlp(norm(x)). [B*T, C] → [B*T, C]. */
  private block(l: number, x: tf.Tensor2D, pass: Pass): tf.Tensor2D {
    const p = `model.layers.${l}`;
    const h: tf.Tensor2D = tf.add(x, this.selfAttention(l, this.norm(`${p}.input_layernorm`, x), pass));
    return tf.add(h, this.mlp(l, this.norm(`${p}.post_attention_layernorm`, h), pass));
  }

  /** Multi-head (grouped-query) self-attention of a normed x [B*T, C] → [B*T, C]. */
  private selfAttention(l: number, x: tf.Tensor2D, { B, T, projections, attention }: Pass): tf.Tensor2D {
    const { num_attention_heads: H, num_key_value_heads: Hkv, head_dim: D } = this.config;
    const [q, k, v] = projections.qkv(l, x); // [B*T, H·D], [B*T, Hkv·D] ×2; RoPE applied, q scaled by 1/√D
    const y = attention.attend(
      l,
      splitHeads(q, B, T, H, D),
      splitHeads(k, B, T, Hkv, D),
      splitHeads(v, B, T, Hkv, D),
    ); // [B, H, T, D]
    return projections.out(l, mergeHeads(y)); // [B*T, H·D] → [B*T, C]
  }

  /** SwiGLU MLP of a normed x [B*T, C]: down(silu(gate(x)) · up(x)) → [B*T, C]. */
  private mlp(l: number, x: tf.Tensor2D, { projections }: Pass): tf.Tensor2D {
    const [gate, up] = projections.gateUp(l, x); // [B*T, I] each
    return projections.down(l, tf.mul(silu(gate), up));
  }

  /** RMSNorm with the weight `<prefix>.weight`. */
  private norm(prefix: string, x: tf.Tensor2D): tf.Tensor2D {
    return rmsNorm(x, this.weight(`${prefix}.weight`) as tf.Tensor1D, this.config.rms_norm_eps);
  }

  /**
   * The linear layers of a pass, chosen once. Inference (no gradient recorded) without adapters or q/k norms runs
   * fused per-layer weights; everything else the plain projections. Products read packed copies where the wasm matmul
   * kernel runs and the model is small enough or frozen (ServingWeights.packedInference), the variables elsewhere: on
   * every backend but wasm, the generic tfjs path.
   */
  private projections(positions: Int32Array, training: boolean): Projections {
    const packed = this.serving.packedInference();
    if (this.serving.frozen && !packed) this.assertNotFrozen('gradients, and no backend but wasm');
    const linear = packed ? packedLinear(this.serving) : variableLinear((name) => this.weight(name));
    const sources = {
      config: this.config,
      weight: (name: string) => this.weight(name),
      bias: (name: string) => this.weights.get(name),
    };
    if (tf.engine().state.gradientDepth === 0 && !this.lora && !this.config.qk_norm)
      return new FusedProjections(sources, this.serving, linear, positions);
    const dropout = training ? this.dropoutRng : null;
    return new PlainProjections(sources, linear, this.rotate, positions, this.lora, dropout);
  }

  private assertNotFrozen(what: string): void {
    if (this.serving.frozen)
      throw new Error(`This model is frozen for serving (freezeForServing): no ${what}`);
  }

  dispose(): void {
    this.serving.dispose();
    this.removeLora();
    for (const w of this.weights.values()) if (!w.isDisposed) w.dispose();
    this.weights.clear();
    this.masks.dispose();
    this.rotate.dispose();
  }

  private toIds(batch: TokenBatch): { ids: tf.Tensor1D; batch: number; time: number } {
    if (Array.isArray(batch)) {
      const B = batch.length;
      const T = B ? batch[0].length : 0;
      const flat = new Int32Array(B * T);
      batch.forEach((row, b) => {
        if (row.length !== T)
          throw new Error(
            `Token batch rows must have equal length (row ${b}: ${row.length} ≠ ${T}); pad on the right`,
          );
        flat.set(row, b * T);
      });
      return { ids: tf.tensor1d(flat, 'int32'), batch: B, time: T };
    }
    const [B, T] = batch.shape;
    return { ids: tf.reshape(tf.cast(batch, 'int32'), [B * T]) as tf.Tensor1D, batch: B, time: T }; // [B*T]
  }
}

/** A trainable variable holding `data`; the temporary tensor it is copied from is released at once. */
function ownedVariable(data: Float32Array, shape: number[], name: string): tf.Variable {
  const initial = tf.tensor(data, shape);
  const variable = tf.variable(initial, true, name);
  initial.dispose();
  return variable;
}

/**
 * [B*T, h·D] → [B, T, h, D] → [B, h, T, D]. With one token per row (decode) the transpose is a pure reshape, and the
 * copy kernel is skipped. 4-D transposes only: 5-D ones are slow on wasm.
 */
function splitHeads(x: tf.Tensor, B: number, T: number, h: number, D: number): tf.Tensor4D {
  if (T === 1) return tf.reshape(x, [B, h, 1, D]) as tf.Tensor4D; // [B, h, 1, D]
  return tf.transpose(tf.reshape(x, [B, T, h, D]), [0, 2, 1, 3]) as tf.Tensor4D; // [B, T, h, D] → [B, h, T, D]
}

/** [B, H, T, D] → [B, T, H, D] → [B*T, H·D] (a pure reshape with one token per row). */
function mergeHeads(y: tf.Tensor4D): tf.Tensor2D {
  const [B, H, T, D] = y.shape;
  if (T === 1) return tf.reshape(y, [B, H * D]) as tf.Tensor2D; // [B, H·D]
  return tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [B * T, H * D]) as tf.Tensor2D; // [B, T, H, D] → [B*T, H·D]
}
