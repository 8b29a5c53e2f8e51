import * as tf from '@tensorflow/tfjs-core';

import { parameterCount, type ModelConfig } from './config';
import { packedMatMul, packedMatMulAvailable, packWeight, type PackedWeight } from './kernels/matmul';

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

/** An inference weight [in, out]: packed for the wasm matmul kernel where it runs (kernels/matmul.ts), else plain. */
export type InferenceWeight = tf.Tensor2D | PackedWeight;

/** x [N, in] · w [in, out] → [N, out], through the packed kernel when w is packed. */
export function inferenceMatmul(x: tf.Tensor2D, w: InferenceWeight): tf.Tensor2D {
  return w instanceof tf.Tensor ? tf.matMul(x, w) : packedMatMul(x, w);
}

function disposeInferenceWeight(w: InferenceWeight): void {
  (w instanceof tf.Tensor ? w : w.panels).dispose();
}

/** Inference-only fused weights of one layer (see ServingWeights.fusedLayer). */
export interface FusedLayer {
  qkv: InferenceWeight; // [C, 2·(H+Hkv)·D + Hkv·D]
  bias: tf.Tensor1D | null;
  gateUp: InferenceWeight; // [C, 2I]
}

function disposeFused(f: FusedLayer): void {
  disposeInferenceWeight(f.qkv);
  disposeInferenceWeight(f.gateUp);
  f.bias?.dispose();
}

/** An inference weight derived from model variables; a reassigned variable (new dataId) invalidates it. */
interface Derived<T> {
  sources: object[];
  value: T;
}

/** What ServingWeights reads and releases of its model's variables. */
export interface WeightStore {
  weight(name: string): tf.Variable;
  /** Disposes a variable for good (freezing). */
  release(name: string): void;
}

/**
 * The weights a model serves from besides its variables: copies derived for inference passes (fused per layer, packed
 * for the wasm matmul kernel), cached until a source variable is reassigned, and the frozen state in which the packed
 * copies are all that is left of the projections. Training never reads them.
 */
export class ServingWeights {
  private readonly fusedCache = new Map<number, Derived<FusedLayer>>();
  /** Single weights packed for inference matmuls on wasm, by name ('head' for the output projection). */
  private readonly packedCache = new Map<string, Derived<PackedWeight>>();
  private readonly packAll: boolean;
  private isFrozen = false;

  constructor(
    private readonly config: ModelConfig,
    private readonly store: WeightStore,
  ) {
    this.packAll = parameterCount(config) <= PACK_ALL_MAX_PARAMETERS;
  }

  /** Whether freeze has run: the projections live only as packed copies. */
  get frozen(): boolean {
    return this.isFrozen;
  }

  /**
   * Whether inference matmuls outside the fused layers use packed copies: the wasm kernel runs, no gradient is being
   * recorded, and the model is small enough for the copies (PACK_ALL_MAX_PARAMETERS) or frozen.
   */
  packedInference(): boolean {
    return (
      (this.packAll || this.isFrozen) && tf.engine().state.gradientDepth === 0 && packedMatMulAvailable()
    );
  }

  /** Whether `freeze` would do anything: not frozen yet, and the packed kernel runs here (wasm). */
  canFreeze(): boolean {
    return !this.isFrozen && packedMatMulAvailable();
  }

  /**
   * Builds every packed inference weight now, whatever the model's size, and releases the variables they replace
   * (every projection, an untied head), layer by layer, the head last. Only where `canFreeze`.
   */
  freeze(): void {
    if (!this.canFreeze()) return;
    const c = this.config;
    this.isFrozen = true;
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
          this.store.release(name);
        }
        projections.forEach((name) => this.store.release(name));
      }
      this.packed(
        'head',
        c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight',
        c.tie_word_embeddings,
      );
      if (!c.tie_word_embeddings) this.store.release('lm_head.weight');
    } catch (error) {
      throw new Error(`freezeForServing failed, the model is unusable: ${(error as Error).message}`);
    }
  }

  /**
   * Inference-only fused weights of layer l (one matmul for q, k, v and both RoPE terms; one for gate and up):
   *   qkv = [Wq·s | Wk | Wv | rot(Wq·s) | rot(Wk)],  s = 1/√D,  rot = rotate_half on each head's output columns
   *   (x·rot(W) = rotate_half(x·W), so RoPE becomes (x·W)·cos + (x·rot(W))·sin),  bias likewise;  gateUp = [Wg | Wu].
   * Cached per layer and rebuilt when any source weight is reassigned (Variable.assign swaps its dataId).
   */
  fusedLayer(l: number): FusedLayer {
    const c = this.config;
    const p = `model.layers.${l}`;
    const D = c.head_dim;
    const weight = (name: string): tf.Variable => this.store.weight(name);
    const names = ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}.weight`);
    const biasNames = c.attention_bias
      ? ['q_proj', 'k_proj', 'v_proj'].map((n) => `${p}.self_attn.${n}.bias`)
      : [];
    const mlp = [`${p}.mlp.gate_proj.weight`, `${p}.mlp.up_proj.weight`];
    const sources = [...names, ...biasNames, ...mlp].map((n) => weight(n).dataId);
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
    const [wq, wk, wv] = names.map(weight);
    const built: FusedLayer = {
      qkv: prepare(fuse(wq, wk, wv, 1) as tf.Tensor2D),
      bias: biasNames.length
        ? (fuse(weight(biasNames[0]), weight(biasNames[1]), weight(biasNames[2]), 0) as tf.Tensor1D)
        : null,
      gateUp: prepare(tf.keep(tf.concat(mlp.map(weight), 1)) as tf.Tensor2D),
    };
    this.fusedCache.set(l, { sources, value: built });
    return built;
  }

  /** The packed form of `weight(source)` (or of its transpose), cached under `key` until the variable is reassigned. */
  packed(key: string, source: string, transposed = false): PackedWeight {
    const variable = this.store.weight(source);
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
  }
}
