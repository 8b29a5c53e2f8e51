import * as tf from '@tensorflow/tfjs-core';

import type { ModelConfig } from './config';
import { packedMatMul } from './kernels/matmul';
import type { LoraAdapters } from './lora';
import { matmul, matmulShared, rmsNorm, ropeTables } from './ops';
import type { Rng } from './rng';
import { inferenceMatmul, type FusedLayer, type ServingWeights } from './serving-weights';

/**
 * The linear layers of one forward pass, chosen once per pass (TransformerModel.projections): which weights the
 * products read (the variables, or packed copies for the wasm kernel) and whether a layer's q|k|v|RoPE and gate|up run
 * as one fused product each. Inputs and outputs are 2-D [B*T, ·]: every projection is a flag-free 2-D matmul.
 */
export interface Projections {
  /**
   * q, k and v of a layer's normed input x [B*T, C]: q [B*T, H·D] with RoPE applied and scaled by 1/√D, k [B*T, Hkv·D]
   * with RoPE applied, v [B*T, Hkv·D] (a per-head layout [B*T, h, D] is the same data).
   */
  qkv(layer: number, x: tf.Tensor2D): [tf.Tensor, tf.Tensor, tf.Tensor];
  /** The attention output projection, [B*T, H·D] → [B*T, C]. */
  out(layer: number, y: tf.Tensor2D): tf.Tensor2D;
  /** The MLP's input projections of x [B*T, C]: gate and up, [B*T, I] each. */
  gateUp(layer: number, x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D];
  /** The MLP's output projection, [B*T, I] → [B*T, C]. */
  down(layer: number, y: tf.Tensor2D): tf.Tensor2D;
}

/** x·W for weights of one input x [N, in], by name → [N, out] each. */
export type Linear = (x: tf.Tensor2D, names: readonly string[]) => tf.Tensor2D[];

/** Products on the variables: one x·[W₁|W₂|…] while training (one transpose of x in the backward pass; ops.ts). */
export function variableLinear(weight: (name: string) => tf.Tensor): Linear {
  return (x, names) =>
    matmulShared(
      x,
      names.map((n) => weight(n) as tf.Tensor2D),
    );
}

/** Products on packed copies through the wasm matmul kernel (inference only). */
export function packedLinear(serving: ServingWeights): Linear {
  return (x, names) => names.map((n) => packedMatMul(x, serving.packed(n, n)));
}

/** What the projections read of the model besides the weights the Linear multiplies by. */
export interface ProjectionSources {
  config: ModelConfig;
  weight(name: string): tf.Tensor;
  /** A bias by its HF name, when the model has it. */
  bias(name: string): tf.Tensor | undefined;
}

/**
 * Each projection on its own weight, with its bias, its LoRA adapter and (Qwen3) the per-head q/k RMSNorm; RoPE as
 * x·cos + rotate_half(x)·sin with rotate_half one [D, D] matmul. The path for training and gradients, LoRA and q/k
 * norms at inference, and the reference the fused path is tested against.
 */
export class PlainProjections implements Projections {
  private readonly cos: tf.Tensor3D; // [B*T, 1, D]
  private readonly sin: tf.Tensor3D;

  constructor(
    private readonly model: ProjectionSources,
    private readonly linear: Linear,
    private readonly rotate: tf.Tensor2D, // [D, D]
    positions: Int32Array,
    private readonly lora: LoraAdapters | null,
    /** The model's dropout stream while training (LoRA dropout), else null. */
    private readonly dropout: Rng | null,
  ) {
    const { head_dim: D, rope_theta, rope_scaling, max_position_embeddings } = model.config;
    const { cos, sin } = ropeTables(positions, D, rope_theta, rope_scaling, max_position_embeddings);
    this.cos = tf.tensor3d(cos, [positions.length, 1, D]);
    this.sin = tf.tensor3d(sin, [positions.length, 1, D]);
  }

  qkv(layer: number, x: tf.Tensor2D): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const { num_attention_heads: H, num_key_value_heads: Hkv, head_dim: D, qk_norm } = this.model.config;
    const p = `model.layers.${layer}.self_attn`;
    const [q, k, v] = this.project(x, [`${p}.q_proj`, `${p}.k_proj`, `${p}.v_proj`]); // [N, H·D], [N, Hkv·D] ×2
    const [qn, kn] = qk_norm
      ? [this.headNorm(q, H, `${p}.q_norm.weight`), this.headNorm(k, Hkv, `${p}.k_norm.weight`)]
      : [q, k];
    return [tf.mul(this.rope(qn, H), 1 / Math.sqrt(D)), this.rope(kn, Hkv), v];
  }

  out(layer: number, y: tf.Tensor2D): tf.Tensor2D {
    return this.project(y, [`model.layers.${layer}.self_attn.o_proj`])[0];
  }

  gateUp(layer: number, x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const p = `model.layers.${layer}.mlp`;
    const [gate, up] = this.project(x, [`${p}.gate_proj`, `${p}.up_proj`]);
    return [gate, up];
  }

  down(layer: number, y: tf.Tensor2D): tf.Tensor2D {
    return this.project(y, [`model.layers.${layer}.mlp.down_proj`])[0];
  }

  /** x·W (+ bias) (+ LoRA: (α/r)·dropout(x)·A·B) for projections of one input x [N, in] → [N, out] each. */
  private project(x: tf.Tensor2D, prefixes: readonly string[]): tf.Tensor2D[] {
    const base = this.linear(
      x,
      prefixes.map((p) => `${p}.weight`),
    );
    return prefixes.map((p, i) => {
      let y = base[i];
      const bias = this.model.bias(`${p}.bias`);
      if (bias) y = tf.add(y, bias);
      const adapter = this.lora?.term(x, `${p}.weight`, this.dropout) ?? null;
      return adapter ? tf.add(y, adapter) : y;
    });
  }

  /** Per-head RMSNorm (Qwen3) of x [N, h·D]. */
  private headNorm(x: tf.Tensor2D, heads: number, weight: string): tf.Tensor2D {
    const { head_dim: D, rms_norm_eps } = this.model.config;
    const N = x.shape[0];
    const perHead = tf.reshape(x, [N * heads, D]) as tf.Tensor2D; // [N*h, D]
    const normed = rmsNorm(perHead, this.model.weight(weight) as tf.Tensor1D, rms_norm_eps);
    return tf.reshape(normed, [N, heads * D]); // [N, h·D]
  }

  /** RoPE (HF rotate_half on cat(freqs, freqs)) of x [N, h·D] → [N, h, D]. */
  private rope(x: tf.Tensor2D, heads: number): tf.Tensor3D {
    const D = this.model.config.head_dim;
    const N = x.shape[0];
    const x3 = tf.reshape(x, [N, heads, D]); // [N, h, D]
    const perHead = tf.reshape(x, [N * heads, D]) as tf.Tensor2D; // [N*h, D]
    const rotated = tf.reshape(matmul(perHead, this.rotate), [N, heads, D]); // rotate_half(x): [N, h, D]
    return tf.add(tf.mul(x3, this.cos), tf.mul(rotated, this.sin)); // [N, h, D]
  }
}

/**
 * Inference without adapters or q/k norms: per layer one product for q, k, v and both RoPE terms and one for gate and
 * up, on the fused weights of ServingWeights.fusedLayer (packed for the wasm kernel where it runs); o and down through
 * `linear`. Decode step of tt-nano: 229 → 181 kernel dispatches against the plain path.
 */
export class FusedProjections implements Projections {
  /** RoPE tables tiled over the H + Hkv heads of the fused q|k block, [B*T, (H+Hkv)·D]. */
  private readonly cos: tf.Tensor2D;
  private readonly sin: tf.Tensor2D;
  /** The pass's fused weights, fetched once per layer (qkv, then gateUp). */
  private readonly layers: FusedLayer[] = [];

  constructor(
    private readonly model: ProjectionSources,
    private readonly serving: ServingWeights,
    private readonly linear: Linear,
    positions: Int32Array,
  ) {
    const { num_attention_heads: H, num_key_value_heads: Hkv, head_dim: D } = model.config;
    const { rope_theta, rope_scaling, max_position_embeddings } = model.config;
    const { cos, sin } = ropeTables(positions, D, rope_theta, rope_scaling, max_position_embeddings);
    const N = positions.length;
    const QK = (H + Hkv) * D;
    const tile = (t: Float32Array): tf.Tensor2D => {
      const out = new Float32Array(N * QK);
      for (let r = 0; r < N; r++)
        for (let h = 0; h < H + Hkv; h++) out.set(t.subarray(r * D, (r + 1) * D), r * QK + h * D);
      return tf.tensor2d(out, [N, QK]);
    };
    this.cos = tile(cos);
    this.sin = tile(sin);
  }

  qkv(layer: number, x: tf.Tensor2D): [tf.Tensor, tf.Tensor, tf.Tensor] {
    const { num_attention_heads: H, num_key_value_heads: Hkv, head_dim: D } = this.model.config;
    const QK = (H + Hkv) * D;
    const fused = this.fused(layer);
    let y = inferenceMatmul(x, fused.qkv); // [N, QK | Hkv·D | QK]: q·s|k, v, rot(q·s)|rot(k)
    if (fused.bias) y = tf.add(y, fused.bias);
    const [qk, v, qkRot] = tf.split(y, [QK, Hkv * D, QK], 1);
    const [q, k] = tf.split(tf.add(tf.mul(qk, this.cos), tf.mul(qkRot, this.sin)), [H * D, Hkv * D], 1); // RoPE
    return [q, k, v]; // q already scaled by 1/√D (folded into the fused weights)
  }

  out(layer: number, y: tf.Tensor2D): tf.Tensor2D {
    return this.project(y, `model.layers.${layer}.self_attn.o_proj`);
  }

  gateUp(layer: number, x: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D] {
    const [gate, up] = tf.split(inferenceMatmul(x, this.fused(layer).gateUp), 2, 1); // [N, I] each
    return [gate as tf.Tensor2D, up as tf.Tensor2D];
  }

  down(layer: number, y: tf.Tensor2D): tf.Tensor2D {
    return this.project(y, `model.layers.${layer}.mlp.down_proj`);
  }

  private fused(layer: number): FusedLayer {
    this.layers[layer] ??= this.serving.fusedLayer(layer);
    return this.layers[layer];
  }

  private project(x: tf.Tensor2D, prefix: string): tf.Tensor2D {
    const y = this.linear(x, [`${prefix}.weight`])[0];
    const bias = this.model.bias(`${prefix}.bias`);
    return bias ? tf.add(y, bias) : y;
  }
}
