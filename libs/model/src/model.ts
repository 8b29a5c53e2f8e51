import * as tf from '@tensorflow/tfjs-core';

// tfjs-core alone registers no gradients (see libs/tfjs-gradients). Needed for training.
import '@tracetune/tfjs-gradients';

import { parameterCount, type ModelConfig } from './config';
import { fusedAttention, fusedAttentionAvailable, slotAttention } from './kernels/attention';
import { packedMatMul, packedMatMulAvailable, packWeight, type PackedWeight } from './kernels/matmul';
import { validateLoraConfig, type LoraConfig, type LoraTarget } from './lora';
import {
  bmm,
  bmmTransposeB,
  logSumExp,
  MASKED,
  matmul,
  matmulShared,
  rmsNorm,
  ropeTables,
  rotateHalfMatrix,
  silu,
} from './ops';
import { Rng } from './rng';
import { modelShape, tensorSpecs, type TensorSpec } from './weights';

/** Keys and values of one layer for a batch of sequences: [B, Hkv, S, D]. */
// A type alias (not an interface) so that it is a tf.TensorContainer and can leave a tf.tidy.
export type LayerKV = {
  k: tf.Tensor4D;
  v: tf.Tensor4D;
};

/** Cached context a forward pass attends to, besides its own tokens. */
export interface PastContext {
  layers: LayerKV[];
  /** Host mask [B, P]: 1 where the cached column holds a real token of that row's sequence. */
  valid: Uint8Array;
  length: number;
}

/** Input of the transformer core: B rows of T new tokens. */
export interface CoreInput {
  ids: tf.Tensor1D; // [B*T] int32
  batch: number;
  time: number;
  /** Position (RoPE index) of every new token, [B*T]. */
  positions: Int32Array;
  past?: PastContext;
  /** Return the concatenated keys/values (past + new) of every layer, for a KV cache. */
  returnKV?: boolean;
  /** Training mode: enables LoRA dropout. */
  training?: boolean;
  /** Inference pass (prefill, decode): attention may run as the fused wasm kernel. */
  fastAttention?: boolean;
  /** Slot-cache pass (one token per row, wasm only; see SlotCache): keys and values go into these buffers in place. */
  slots?: SlotPast;
}

/** Where a slot-cache pass reads and writes keys and values: row i is token i of some slot, at a column. */
export interface SlotPast {
  /** Per layer [rows, Hkv, columns, D]. */
  layers: LayerKV[];
  /** [B] int32: the slot of each row. */
  slots: tf.Tensor1D;
  /** [B] int32: the column (= RoPE position) of each row's token. */
  columns: tf.Tensor1D;
}

export interface LogProbOptions {
  /** Also return the per-token entropy of the model's distribution. */
  entropy?: boolean;
  training?: boolean;
}

export type LogProbResult = {
  logProbs: tf.Tensor2D; // [B, T]
  entropy?: tf.Tensor2D; // [B, T]
};

export type TokenBatch = number[][] | tf.Tensor2D;

/** An inference weight [in, out]: packed for the wasm matmul kernel where it runs (kernels/matmul.ts), else plain. */
type InferenceWeight = tf.Tensor2D | PackedWeight;

function inferenceMatmul(x: tf.Tensor2D, w: InferenceWeight): tf.Tensor2D {
  return w instanceof tf.Tensor ? tf.matMul(x, w) : packedMatMul(x, w);
}

function disposeInferenceWeight(w: InferenceWeight): void {
  (w instanceof tf.Tensor ? w : w.panels).dispose();
}

/** An inference weight derived from model variables; a reassigned variable (new dataId) invalidates it. */
interface Derived<T> {
  sources: object[];
  value: T;
}

/**
 * Models up to this size also keep packed copies of the weights the fused layers do not cover (o_proj, down_proj, the
 * head; every projection of a model with q/k norms). Above it they multiply through tfjs on the variables: the copies
 * would add ≈ 4 bytes a parameter to a wasm heap that holds 4 GiB per engine (a 0.5B model is 2 GB of weights plus
 * ≈ 1 GB of fused copies), and filling that heap corrupts it (tfjs-backend-wasm then returns garbage).
 */
export const PACK_ALL_MAX_PARAMETERS = 256_000_000;

/**
 * Bytes a model occupies when serving: its weights (4 a parameter), the fused inference copies (q|k|v|RoPE and
 * gate|up per layer, unless q/k norms disable fusion) and, for models up to PACK_ALL_MAX_PARAMETERS, the packed copies
 * of every other projection and of the head (panels padded to 8 columns). With `frozen` (see freezeForServing): every
 * packed copy, and the weights they replace (the projections, an untied head) no longer counted. An estimate for
 * memory budgets; KV caches are not included.
 */
export function inferenceBytes(c: ModelConfig, options: { frozen?: boolean } = {}): number {
  const {
    hidden_size: C,
    intermediate_size: I,
    num_attention_heads: H,
    num_key_value_heads: Hkv,
    head_dim: D,
    num_hidden_layers: L,
  } = c;
  const pad = (n: number): number => Math.ceil(n / 8) * 8;
  const params = parameterCount(c);
  const fuse = !c.qk_norm;
  const qkv = 2 * (H + Hkv) * D + Hkv * D;
  const fused = fuse ? L * (C * (pad(qkv) + 2 * I) + (c.attention_bias ? qkv : 0)) : 0;
  let packed = 0;
  if (options.frozen || params <= PACK_ALL_MAX_PARAMETERS) {
    packed = L * (H * D * pad(C) + I * pad(C)) + C * pad(c.vocab_size); // o_proj, down_proj, head
    if (!fuse) packed += L * C * (pad(H * D) + 2 * pad(Hkv * D) + 2 * pad(I)); // q, k, v, gate, up one by one
  }
  const released = options.frozen
    ? L * (2 * C * H * D + 2 * C * Hkv * D + 3 * C * I) + (c.tie_word_embeddings ? 0 : C * c.vocab_size)
    : 0;
  return 4 * (params - released + fused + packed);
}

/**
 * A bound on the bytes a model holds while freezeForServing runs: layers are packed and released one by one and the
 * head is packed last (from the embedding as is, no transposed copy), so it holds its weights or its frozen form,
 * whichever is more, plus a layer's copies in the making.
 */
export function freezePeakBytes(c: ModelConfig): number {
  const {
    hidden_size: C,
    intermediate_size: I,
    num_attention_heads: H,
    num_key_value_heads: Hkv,
    head_dim: D,
  } = c;
  const pad = (n: number): number => Math.ceil(n / 8) * 8;
  const layer = C * (pad(2 * (H + Hkv) * D + Hkv * D) + pad(2 * I)) + H * D * pad(C) + I * pad(C);
  return Math.max(4 * parameterCount(c), inferenceBytes(c, { frozen: true })) + 4 * 2 * layer;
}

/** Inference-only fused weights of one layer (see TransformerModel.fusedLayer). */
interface FusedLayer {
  qkv: InferenceWeight; // [C, 2·(H+Hkv)·D + Hkv·D]
  bias: tf.Tensor1D | null;
  gateUp: InferenceWeight; // [C, 2I]
}

interface LoraState {
  config: LoraConfig;
  scale: number;
  a: Map<string, tf.Variable>; // [in, r]
  b: Map<string, tf.Variable>; // [r, out]
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

/**
 * Decoder-only transformer of the Llama/Qwen2/Qwen3 family (nanoGPT-sized on purpose: the whole forward pass is
 * `core`). Weights are tfjs Variables named as in HF checkpoints; Linear weights are kept [in, out] so every
 * projection is a flag-free 2-D matmul (fast on wasm/XNNPACK). Activations flow as 2-D [B*T, C] between layers.
 */
export class TransformerModel {
  readonly config: ModelConfig;
  private readonly weights = new Map<string, tf.Variable>();
  private lora: LoraState | null = null;
  private readonly rotate: tf.Tensor2D;
  private readonly causalMasks = new Map<string, tf.Tensor4D>();
  private readonly dropoutRng: Rng;
  private readonly fusedCache = new Map<number, Derived<FusedLayer>>();
  private readonly packAll: boolean;
  /** Set by freezeForServing: the projections live only as packed copies; no training, no new weights. */
  private frozen = false;
  /** Single weights packed for inference matmuls on wasm, by name ('head' for the output projection). */
  private readonly packedCache = new Map<string, Derived<PackedWeight>>();
  /** tfjs variable names are global: each model prefixes its HF names with a unique id (`m3/model.norm.weight`). */
  readonly variablePrefix: string;
  private static nextId = 0;

  private constructor(config: ModelConfig, seed: number) {
    if (config.head_dim % 2 !== 0) throw new Error(`head_dim must be even for RoPE (got ${config.head_dim})`);
    this.config = config;
    this.dropoutRng = new Rng(seed ^ 0x5eed);
    this.variablePrefix = `m${TransformerModel.nextId++}/`;
    this.rotate = tf.keep(tf.tensor2d(rotateHalfMatrix(config.head_dim), [config.head_dim, config.head_dim]));
    this.packAll = parameterCount(config) <= PACK_ALL_MAX_PARAMETERS;
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
    if (this.lora) return [...this.lora.a.values(), ...this.lora.b.values()];
    return [...this.weights.values()];
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
    if (this.frozen || !packedMatMulAvailable()) return;
    if (this.lora) throw new Error('freezeForServing: merge or remove the LoRA adapters first');
    const c = this.config;
    const release = (name: string): void => {
      const w = this.weights.get(name);
      if (w && !w.isDisposed) w.dispose();
    };
    this.frozen = true;
    try {
      for (let l = 0; l < c.num_hidden_layers; l++) {
        const p = `model.layers.${l}`;
        const projections = [
          'self_attn.q_proj',
          'self_attn.k_proj',
          'self_attn.v_proj',
          'mlp.gate_proj',
          'mlp.up_proj',
        ].map((n) => `${p}.${n}.weight`);
        if (c.qk_norm) projections.forEach((name) => this.packed(name, name));
        else this.fusedLayer(l);
        for (const name of [`${p}.self_attn.o_proj.weight`, `${p}.mlp.down_proj.weight`]) {
          this.packed(name, name);
          release(name);
        }
        projections.forEach(release);
      }
      this.packed(
        'head',
        c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
        c.tie_word_embeddings,
      );
      if (!c.tie_word_embeddings) release('lm_head.weight');
    } catch (error) {
      throw new Error(`freezeForServing failed, the model is unusable: ${(error as Error).message}`);
    }
  }

  /** Whether freezeForServing has run. */
  get frozenForServing(): boolean {
    return this.frozen;
  }

  // ---------------------------------------------------------------- LoRA

  /** Adds LoRA adapters and freezes the base weights. A ~ U(±1/√in), B = 0, so outputs start unchanged. */
  addLora(config: LoraConfig, seed = 0): void {
    this.assertNotFrozen('LoRA adapters');
    if (this.lora) throw new Error('This model already has LoRA adapters; merge or remove them first');
    validateLoraConfig(config);
    const rng = new Rng(seed);
    const a = new Map<string, tf.Variable>();
    const b = new Map<string, tf.Variable>();
    for (let l = 0; l < this.config.num_hidden_layers; l++) {
      for (const t of config.targets) {
        const name = `model.layers.${l}.${MODULE_PREFIX[t]}.${t}.weight`;
        const [inDim, outDim] = this.weight(name).shape;
        // PEFT initialises A with kaiming-uniform(a=√5), i.e. U(±1/√in); B with zeros.
        const bound = 1 / Math.sqrt(inDim);
        const aData = new Float32Array(inDim * config.rank);
        for (let i = 0; i < aData.length; i++) aData[i] = (2 * rng.next() - 1) * bound;
        a.set(
          name,
          tf.variable(tf.tensor2d(aData, [inDim, config.rank]), true, `${this.variablePrefix}${name}.lora_A`),
        );
        b.set(
          name,
          tf.variable(tf.zeros([config.rank, outDim]), true, `${this.variablePrefix}${name}.lora_B`),
        );
      }
    }
    for (const w of this.weights.values()) w.trainable = false;
    this.lora = { config, scale: config.alpha / config.rank, a, b };
  }

  loraConfig(): LoraConfig | null {
    return this.lora?.config ?? null;
  }

  /** The adapter variables by name (`<weight>.lora_A` [in, r], `<weight>.lora_B` [r, out]). */
  loraWeights(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    if (!this.lora) return out;
    for (const [n, v] of this.lora.a) out.set(`${n}.lora_A`, v);
    for (const [n, v] of this.lora.b) out.set(`${n}.lora_B`, v);
    return out;
  }

  /** Folds the adapters into the base weights (W ← W + (α/r)·A·B), removes them and unfreezes the base. */
  mergeLora(): void {
    const lora = this.lora;
    if (!lora) throw new Error('This model has no LoRA adapters to merge');
    for (const [name, a] of lora.a) {
      const w = this.weight(name);
      const bMat = lora.b.get(name) as tf.Variable;
      tf.tidy(() =>
        w.assign(tf.add(w, tf.mul(tf.matMul(a as tf.Tensor2D, bMat as tf.Tensor2D), lora.scale))),
      );
    }
    this.removeLora();
  }

  /** A weight with its LoRA delta folded in (a new tensor the caller disposes); the base weight when unadapted. */
  effectiveWeight(name: string): tf.Tensor {
    const w = this.weight(name);
    const lora = this.lora;
    const a = lora?.a.get(name);
    if (!lora || !a) return tf.clone(w);
    return tf.tidy(() =>
      tf.add(w, tf.mul(tf.matMul(a as tf.Tensor2D, lora.b.get(name) as tf.Tensor2D), lora.scale)),
    );
  }

  /** Drops the adapters without merging and unfreezes the base weights. */
  removeLora(): void {
    if (!this.lora) return;
    for (const v of [...this.lora.a.values(), ...this.lora.b.values()]) v.dispose();
    this.lora = null;
    for (const w of this.weights.values()) w.trainable = true;
  }

  // ---------------------------------------------------------------- forward

  /** Logits [B, T, V] of a rectangular batch (positions 0..T−1, causal attention; pad on the right). */
  logits(inputIds: TokenBatch): tf.Tensor3D {
    return tf.tidy(() => {
      const { ids, batch, time } = this.toIds(inputIds);
      const h = this.core({ ids, batch, time, positions: rangePositions(batch, time) }).hidden;
      return tf.reshape(this.head(h), [batch, time, this.config.vocab_size]);
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
      const h = this.core({
        ids,
        batch,
        time,
        positions: rangePositions(batch, time),
        training: options.training,
      }).hidden;
      const logits = this.head(h); // [B*T, V]
      const lse = logSumExp(logits); // [B*T]
      const flatIndex = tf.add(tf.mul(tf.range(0, batch * time, 1, 'int32'), tf.scalar(V, 'int32')), tgt.ids); // row*V + target
      const picked = tf.gather(tf.reshape(logits, [-1]), flatIndex); // [B*T]
      const logProbs = tf.reshape(tf.sub(picked, lse), [batch, time]) as tf.Tensor2D;
      if (!options.entropy) return { logProbs };
      const p = tf.exp(tf.sub(logits, tf.expandDims(lse, -1))); // [B*T, V]
      const ent = tf.sub(lse, tf.sum(tf.mul(p, logits), -1));
      return { logProbs, entropy: tf.reshape(ent, [batch, time]) as tf.Tensor2D };
    });
  }

  /** Output head: final hidden [N, C] → logits [N, V] (tied: embeddingᵀ). */
  head(hidden: tf.Tensor2D): tf.Tensor2D {
    const source = this.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    if (this.packedInference()) {
      return packedMatMul(hidden, this.packed('head', source, this.config.tie_word_embeddings));
    }
    const w = this.config.tie_word_embeddings
      ? tf.transpose(this.weight('model.embed_tokens.weight') as tf.Tensor2D) // [C, V]
      : (this.weight('lm_head.weight') as tf.Tensor2D);
    return matmul(hidden, w);
  }

  /**
   * The transformer body: embeddings → layers → final norm. Returns hidden [B*T, C] and, with `returnKV`, the keys and
   * values per layer including the past ([B, Hkv, P+T, D]). Must run inside a tidy (public callers do).
   */
  core(input: CoreInput): { hidden: tf.Tensor2D; kv: LayerKV[] } {
    if (this.frozen && !this.packedInference()) this.assertNotFrozen('gradients, and no backend but wasm');
    const c = this.config;
    const { batch: B, time: T } = input;
    const H = c.num_attention_heads;
    const Hkv = c.num_key_value_heads;
    const D = c.head_dim;
    const g = H / Hkv;
    const P = input.past?.length ?? 0;
    const S = P + T;
    const { cos, sin } = ropeTables(input.positions, D, c.rope_theta);
    const cosT = tf.tensor3d(cos, [B * T, 1, D]);
    const sinT = tf.tensor3d(sin, [B * T, 1, D]);
    // Inference passes (prefill, decode) on wasm run attention as one SIMD kernel; everything else uses tfjs ops (the
    // uncached forward stays on them: it is the reference the cached passes are tested against).
    if (input.slots && (T !== 1 || input.past || !fusedAttentionAvailable(D)))
      throw new Error('core: a slot-cache pass takes one token per row, no past, on the wasm backend');
    const fused =
      !input.slots &&
      input.fastAttention === true &&
      tf.engine().state.gradientDepth === 0 &&
      fusedAttentionAvailable(D);
    const attendable = fused ? attendableColumns(input.past?.valid ?? new Uint8Array(0), B, P, T) : null;
    const mask =
      attendable || input.slots
        ? null
        : input.past
          ? pastMask(input.past.valid, B, P, T, g)
          : this.causalMask(T, g);
    const scale = 1 / Math.sqrt(D);
    // Inference without adapters or q/k norms uses per-layer fused weights (see fusedLayer): RoPE then needs cos/sin
    // tiled over the H + Hkv heads of the fused q|k block, [B*T, (H+Hkv)*D].
    const fuse = !this.lora && !c.qk_norm && tf.engine().state.gradientDepth === 0;
    const QK = (H + Hkv) * D;
    const tile = (t: Float32Array): tf.Tensor2D => {
      const out = new Float32Array(B * T * QK);
      for (let r = 0; r < B * T; r++)
        for (let h = 0; h < H + Hkv; h++) out.set(t.subarray(r * D, (r + 1) * D), r * QK + h * D);
      return tf.tensor2d(out, [B * T, QK]);
    };
    const cosQK = fuse ? tile(cos) : null;
    const sinQK = fuse ? tile(sin) : null;
    const rope = (x: tf.Tensor2D, heads: number): tf.Tensor3D => {
      const x3 = tf.reshape(x, [B * T, heads, D]);
      const rotated = tf.reshape(matmul(tf.reshape(x, [B * T * heads, D]), this.rotate), [B * T, heads, D]);
      return tf.add(tf.mul(x3, cosT), tf.mul(rotated, sinT)); // [B*T, heads, D]
    };

    // With one new token per row (decode) the transpose is a pure reshape: skip the copy kernel.
    const heads = (x: tf.Tensor, h: number): tf.Tensor4D =>
      (T === 1
        ? tf.reshape(x, [B, h, 1, D])
        : tf.transpose(tf.reshape(x, [B, T, h, D]), [0, 2, 1, 3])) as tf.Tensor4D;

    let x = tf.gather(this.weight('model.embed_tokens.weight'), input.ids) as tf.Tensor2D; // [B*T, C]
    const kvOut: LayerKV[] = [];
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const hIn = rmsNorm(x, this.weight(`${p}.input_layernorm.weight`) as tf.Tensor1D, c.rms_norm_eps);
      let q4: tf.Tensor4D;
      let k4: tf.Tensor4D;
      let v4: tf.Tensor4D;
      const fused = fuse ? this.fusedLayer(l) : null;
      if (fused && cosQK && sinQK) {
        let y = inferenceMatmul(hIn, fused.qkv); // [B*T, QK | Hkv*D | QK]
        if (fused.bias) y = tf.add(y, fused.bias);
        const [qk, v, qkRot] = tf.split(y, [QK, Hkv * D, QK], 1);
        const [q, k] = tf.split(tf.add(tf.mul(qk, cosQK), tf.mul(qkRot, sinQK)), [H * D, Hkv * D], 1); // RoPE
        q4 = heads(q, H); // already scaled by 1/√D (folded into the fused weights)
        k4 = heads(k, Hkv);
        v4 = heads(v, Hkv);
      } else {
        // q [B*T, H*D], k and v [B*T, Hkv*D]
        const qkv = this.projShared(
          hIn,
          [`${p}.self_attn.q_proj`, `${p}.self_attn.k_proj`, `${p}.self_attn.v_proj`],
          input.training,
        );
        let [q, k] = qkv;
        if (c.qk_norm) {
          q = tf.reshape(
            rmsNorm(
              tf.reshape(q, [B * T * H, D]),
              this.weight(`${p}.self_attn.q_norm.weight`) as tf.Tensor1D,
              c.rms_norm_eps,
            ),
            [B * T, H * D],
          );
          k = tf.reshape(
            rmsNorm(
              tf.reshape(k, [B * T * Hkv, D]),
              this.weight(`${p}.self_attn.k_norm.weight`) as tf.Tensor1D,
              c.rms_norm_eps,
            ),
            [B * T, Hkv * D],
          );
        }
        // [B*T, h, D] → [B, T, h, D] → [B, h, T, D] (4-D transposes only: 5-D ones are slow on wasm)
        q4 = heads(tf.mul(rope(q, H), scale), H);
        k4 = heads(rope(k, Hkv), Hkv);
        v4 = heads(qkv[2], Hkv);
      }
      let att: tf.Tensor3D; // [B*Hkv, g*T, D]
      if (input.slots) {
        const { layers, slots, columns } = input.slots;
        const one = (t: tf.Tensor4D, h: number): tf.Tensor3D => tf.reshape(t, [B, h, D]);
        att = tf.reshape(
          slotAttention(one(q4, H), one(k4, Hkv), one(v4, Hkv), layers[l].k, layers[l].v, slots, columns),
          [B * Hkv, g, D],
        );
      } else {
        if (input.past) {
          k4 = tf.concat([input.past.layers[l].k, k4], 2); // [B, Hkv, S, D]
          v4 = tf.concat([input.past.layers[l].v, v4], 2);
        }
        if (input.returnKV) kvOut.push({ k: k4, v: v4 });
        att = this.attention(q4, k4, v4, attendable, mask, B, T, S);
      }
      const merged = (
        T === 1
          ? tf.reshape(att, [B, H * D])
          : tf.reshape(tf.transpose(tf.reshape(att, [B, H, T, D]), [0, 2, 1, 3]), [B * T, H * D])
      ) as tf.Tensor2D;
      x = tf.add(x, this.proj(merged, `${p}.self_attn.o_proj`, input.training));

      const hMlp = rmsNorm(
        x,
        this.weight(`${p}.post_attention_layernorm.weight`) as tf.Tensor1D,
        c.rms_norm_eps,
      );
      const [gate, up] = fused // [B*T, I] each
        ? tf.split(inferenceMatmul(hMlp, fused.gateUp), 2, 1)
        : this.projShared(hMlp, [`${p}.mlp.gate_proj`, `${p}.mlp.up_proj`], input.training);
      x = tf.add(x, this.proj(tf.mul(silu(gate), up), `${p}.mlp.down_proj`, input.training));
    }
    const hidden = rmsNorm(x, this.weight('model.norm.weight') as tf.Tensor1D, c.rms_norm_eps);
    return { hidden, kv: kvOut };
  }

  /**
   * Inference-only fused weights of layer l (one matmul for q, k, v and both RoPE terms; one for gate and up):
   *   qkv = [Wq·s | Wk | Wv | rot(Wq·s) | rot(Wk)],  s = 1/√D,  rot = rotate_half on each head's output columns
   *   (x·rot(W) = rotate_half(x·W), so RoPE becomes (x·W)·cos + (x·rot(W))·sin),  bias likewise;  gateUp = [Wg | Wu].
   * Cached per layer and rebuilt when any source weight is reassigned (Variable.assign swaps its dataId).
   */
  private fusedLayer(l: number): FusedLayer {
    const c = this.config;
    const p = `model.layers.${l}`;
    const D = c.head_dim;
    const names = ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}.weight`);
    const biasNames = c.attention_bias
      ? ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}.bias`)
      : [];
    const mlp = [`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`];
    const sources = [...names, ...biasNames, ...mlp].map((n) => this.weight(n).dataId);
    const hit = this.fusedCache.get(l);
    if (hit && hit.sources.every((d, i) => d === sources[i])) return hit.value;
    if (hit) disposeFused(hit.value);
    const scale = 1 / Math.sqrt(D);
    // rotate_half over the last axis in blocks of D: [..., h*D] → per head concat(−x[D/2:], x[:D/2]).
    const rot = (w: tf.Tensor): tf.Tensor => {
      const lead = w.shape.slice(0, -1);
      const heads = w.shape[w.shape.length - 1] / D;
      const [a, b] = tf.split(tf.reshape(w, [...lead, heads, D]), 2, -1);
      return tf.reshape(tf.concat([tf.neg(b), a], -1), w.shape);
    };
    const fuse = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, axis: number): tf.Tensor => {
      return tf.keep(
        tf.tidy(() => {
          const qs = tf.mul(q, scale);
          return tf.concat([qs, k, v, rot(qs), rot(k)], axis);
        }),
      );
    };
    // Packed for the wasm matmul kernel where it runs (the concatenation then is only a step towards it).
    const prepare = (w: tf.Tensor2D): InferenceWeight => {
      if (!packedMatMulAvailable()) return w;
      const packed = packWeight(w);
      w.dispose();
      return { panels: tf.keep(packed.panels), columns: packed.columns };
    };
    const [wq, wk, wv] = names.map((n) => this.weight(n));
    const built: FusedLayer = {
      qkv: prepare(fuse(wq, wk, wv, 1) as tf.Tensor2D),
      bias: biasNames.length
        ? (fuse(
            this.weight(biasNames[0]),
            this.weight(biasNames[1]),
            this.weight(biasNames[2]),
            0,
          ) as tf.Tensor1D)
        : null,
      gateUp: prepare(
        tf.keep(
          tf.concat(
            mlp.map((n) => this.weight(n)),
            1,
          ),
        ) as tf.Tensor2D,
      ),
    };
    this.fusedCache.set(l, { sources, value: built });
    return built;
  }

  /**
   * Whether inference matmuls outside the fused layers use packed copies: the wasm kernel runs, no gradient is being
   * recorded, and the model is small enough for the copies (PACK_ALL_MAX_PARAMETERS).
   */
  private packedInference(): boolean {
    return (this.packAll || this.frozen) && tf.engine().state.gradientDepth === 0 && packedMatMulAvailable();
  }

  private assertNotFrozen(what: string): void {
    if (this.frozen) throw new Error(`This model is frozen for serving (freezeForServing): no ${what}`);
  }

  /** The packed form of `weight(source)` (or of its transpose), cached under `key` until the variable is reassigned. */
  private packed(key: string, source: string, transposed = false): PackedWeight {
    const variable = this.weight(source);
    const hit = this.packedCache.get(key);
    if (hit && hit.sources[0] === variable.dataId) return hit.value;
    if (hit) hit.value.panels.dispose();
    const packed = packWeight(variable as tf.Tensor2D, transposed);
    const value = { panels: tf.keep(packed.panels), columns: packed.columns };
    this.packedCache.set(key, { sources: [variable.dataId], value });
    return value;
  }

  dispose(): void {
    for (const f of this.fusedCache.values()) disposeFused(f.value);
    this.fusedCache.clear();
    for (const p of this.packedCache.values()) p.value.panels.dispose();
    this.packedCache.clear();
    this.removeLora();
    for (const w of this.weights.values()) if (!w.isDisposed) w.dispose();
    this.weights.clear();
    for (const m of this.causalMasks.values()) m.dispose();
    this.causalMasks.clear();
    this.rotate.dispose();
  }

  /**
   * Attention of q [B, H, T, D] over k, v [B, Hkv, S, D] → [B*Hkv, g*T, D]: the fused wasm kernel when `attendable`
   * (its mask) is given, tfjs ops with the additive `mask` otherwise. Grouped-query attention without repeating K/V:
   * head h uses KV head ⌊h/g⌋ (HF repeat_kv), so the g query heads of one KV head are contiguous and fold into the row
   * axis: [B, H, T, D] → [B*Hkv, g*T, D].
   */
  private attention(
    q4: tf.Tensor4D,
    k4: tf.Tensor4D,
    v4: tf.Tensor4D,
    attendable: tf.Tensor2D | null,
    mask: tf.Tensor | null,
    B: number,
    T: number,
    S: number,
  ): tf.Tensor3D {
    const { num_key_value_heads: Hkv, head_dim: D } = this.config;
    const g = this.config.num_attention_heads / Hkv;
    if (attendable) return tf.reshape(fusedAttention(q4, k4, v4, attendable), [B * Hkv, g * T, D]);
    const qg = tf.reshape(q4, [B * Hkv, g * T, D]) as tf.Tensor3D;
    const scores = tf.reshape(bmmTransposeB(qg, tf.reshape(k4, [B * Hkv, S, D]) as tf.Tensor3D), [
      B,
      Hkv,
      g * T,
      S,
    ]);
    const probs = tf.reshape(tf.softmax(tf.add(scores, mask as tf.Tensor)), [
      B * Hkv,
      g * T,
      S,
    ]) as tf.Tensor3D;
    return bmm(probs, tf.reshape(v4, [B * Hkv, S, D]) as tf.Tensor3D);
  }

  /** proj for several projections of the same input (one shared transpose of x in the backward pass). */
  private projShared(x: tf.Tensor2D, prefixes: string[], training?: boolean): tf.Tensor2D[] {
    const base = this.packedInference()
      ? prefixes.map((p) => packedMatMul(x, this.packed(`${p}.weight`, `${p}.weight`)))
      : matmulShared(
          x,
          prefixes.map((p) => this.weight(`${p}.weight`) as tf.Tensor2D),
        );
    return prefixes.map((p, i) => this.adapt(x, base[i], p, training));
  }

  /** x·W (+ bias) (+ LoRA: (α/r)·dropout(x)·A·B). x [N, in] → [N, out]. */
  private proj(x: tf.Tensor2D, prefix: string, training?: boolean): tf.Tensor2D {
    const name = `${prefix}.weight`;
    const base = this.packedInference()
      ? packedMatMul(x, this.packed(name, name))
      : matmul(x, this.weight(name) as tf.Tensor2D);
    return this.adapt(x, base, prefix, training);
  }

  /** Adds the bias and the LoRA term to a base projection y = x·W. */
  private adapt(x: tf.Tensor2D, base: tf.Tensor2D, prefix: string, training?: boolean): tf.Tensor2D {
    const name = `${prefix}.weight`;
    let y = base;
    const bias = this.weights.get(`${prefix}.bias`);
    if (bias) y = tf.add(y, bias);
    const a = this.lora?.a.get(name);
    if (a && this.lora) {
      const rate = training ? this.lora.config.dropout : 0;
      const xIn = rate > 0 ? tf.dropout(x, rate, undefined, this.dropoutRng.nextUint32()) : x;
      const low = matmul(matmul(xIn as tf.Tensor2D, a as tf.Tensor2D), this.lora.b.get(name) as tf.Tensor2D);
      y = tf.add(y, tf.mul(low, this.lora.scale));
    }
    return y;
  }

  /** Additive causal mask [1, 1, g*T, T] (row r is query r mod T), built once per (T, g) and kept. */
  private causalMask(T: number, g: number): tf.Tensor4D {
    const key = `${T}:${g}`;
    let m = this.causalMasks.get(key);
    if (!m) {
      const data = new Float32Array(g * T * T);
      for (let r = 0; r < g * T; r++) {
        const t = r % T;
        for (let j = t + 1; j < T; j++) data[r * T + j] = MASKED;
      }
      m = tf.keep(tf.tensor4d(data, [1, 1, g * T, T]));
      this.causalMasks.set(key, m);
    }
    return m;
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
    return { ids: tf.reshape(tf.cast(batch, 'int32'), [B * T]) as tf.Tensor1D, batch: B, time: T };
  }
}

/** A trainable variable holding `data`; the temporary tensor it is copied from is released at once. */
function ownedVariable(data: Float32Array, shape: number[], name: string): tf.Variable {
  const initial = tf.tensor(data, shape);
  const variable = tf.variable(initial, true, name);
  initial.dispose();
  return variable;
}

function disposeFused(f: FusedLayer): void {
  disposeInferenceWeight(f.qkv);
  disposeInferenceWeight(f.gateUp);
  f.bias?.dispose();
}

/** Positions 0..T−1 for each of B rows, [B*T]. */
export function rangePositions(B: number, T: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = t;
  return p;
}

/**
 * Additive mask [B, 1, g*T, P+T] for T new tokens after P cached columns: cached column j is visible to row b iff
 * valid[b, j]; new column P+i is visible to new query t iff i ≤ t (causal).
 */
function pastMask(valid: Uint8Array, B: number, P: number, T: number, g: number): tf.Tensor4D {
  const S = P + T;
  const data = new Float32Array(B * g * T * S);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < g * T; r++) {
      const t = r % T;
      const row = (b * g * T + r) * S;
      for (let j = 0; j < P; j++) if (!valid[b * P + j]) data[row + j] = MASKED;
      for (let i = t + 1; i < T; i++) data[row + P + i] = MASKED;
    }
  }
  return tf.tensor4d(data, [B, 1, g * T, S]);
}

/** Columns the T new tokens of each row may attend to, [B, P + T] int32: the valid cached ones and the new ones. */
function attendableColumns(valid: Uint8Array, B: number, P: number, T: number): tf.Tensor2D {
  const S = P + T;
  const data = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < P; j++) data[b * S + j] = valid[b * P + j];
    data.fill(1, b * S + P, (b + 1) * S);
  }
  return tf.tensor2d(data, [B, S], 'int32');
}
