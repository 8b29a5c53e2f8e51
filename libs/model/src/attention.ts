import * as tf from '@tensorflow/tfjs-core';

import type { ModelConfig } from './config';
import { fusedAttention, fusedAttentionAvailable } from './kernels/attention';
import { attendableColumns, pastMask } from './masks';
import { bmm, bmmTransposeB } from './ops';

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

/**
 * How a forward pass keeps and attends over keys and values: the seam for the fast paths. The caller chooses one per
 * pass, and the forward pass runs it for every layer without branching on it:
 * - CausalAttention: the pass's own tokens, tfjs ops (training, the reference forward pass);
 * - CachedAttention: a KVCache's past plus the new tokens, whose concatenation it keeps (prefill, decode); the fused
 *   wasm kernel on wasm, tfjs ops on every other backend;
 * - SlotAttention (slot-cache.ts): a SlotCache's buffers, written in place by the slot kernel (wasm only).
 */
export interface Attention {
  /**
   * Attention of layer `layer` for the pass's new tokens: q [B, H, T, D] (RoPE applied, scaled by 1/√D), k and v
   * [B, Hkv, T, D] (k with RoPE applied) → [B, H, T, D].
   */
  attend(layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D;
}

/**
 * Grouped-query attention with tfjs ops: q [B, H, T, D] over k, v [B, Hkv, S, D] with an additive mask broadcast over
 * [B, Hkv, g*T, S] → [B, H, T, D]. K/V are not repeated: head h uses KV head ⌊h/g⌋ (HF repeat_kv), so the g query
 * heads of one KV head are contiguous and fold into the row axis, [B, H, T, D] → [B*Hkv, g*T, D].
 */
export function groupedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor4D,
): tf.Tensor4D {
  const [B, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const g = H / Hkv;
  const qg = tf.reshape(q, [B * Hkv, g * T, D]) as tf.Tensor3D; // [B*Hkv, g*T, D]
  const kg = tf.reshape(k, [B * Hkv, S, D]) as tf.Tensor3D; // [B*Hkv, S, D]
  const vg = tf.reshape(v, [B * Hkv, S, D]) as tf.Tensor3D; // [B*Hkv, S, D]
  const scores = tf.reshape(bmmTransposeB(qg, kg), [B, Hkv, g * T, S]); // [B, Hkv, g*T, S]
  const probs = tf.reshape(tf.softmax(tf.add(scores, mask)), [B * Hkv, g * T, S]) as tf.Tensor3D; // [B*Hkv, g*T, S]
  const out = bmm(probs, vg); // [B*Hkv, g*T, D]
  return tf.reshape(out, [B, H, T, D]); // [B*Hkv, g*T, D] → [B, H, T, D]
}

/** Causal self-attention over the pass's own tokens, with tfjs ops and a mask [1, 1, g*T, T] (see CausalMasks). */
export class CausalAttention implements Attention {
  constructor(private readonly mask: tf.Tensor4D) {}

  attend(_layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    return groupedAttention(q, k, v, this.mask);
  }
}

/**
 * Attention for a KVCache pass (prefill, decode): every layer attends over the cached keys and values of `past` (its
 * valid columns) and causally over the new tokens', and keeps their concatenation [B, Hkv, P+T, D] in `layers` for the
 * cache. Where the fused attention kernel runs (wasm, head size a multiple of 4, no gradient recorded) it computes
 * attention, chosen here once; on every other backend tfjs ops do, with the equivalent additive mask.
 */
export class CachedAttention implements Attention {
  /** Per layer, the past's keys and values followed by the new tokens': [B, Hkv, P+T, D]. */
  readonly layers: LayerKV[] = [];
  private readonly past: PastContext | null;
  private readonly compute: (q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D;

  constructor(config: ModelConfig, B: number, T: number, past?: PastContext) {
    const P = past?.length ?? 0;
    const valid = past?.valid ?? new Uint8Array(0);
    this.past = past ?? null;
    if (tf.engine().state.gradientDepth === 0 && fusedAttentionAvailable(config.head_dim)) {
      const attendable = attendableColumns(valid, B, P, T); // [B, P+T]
      this.compute = (q, k, v) => fusedAttention(q, k, v, attendable);
    } else {
      const g = config.num_attention_heads / config.num_key_value_heads;
      const mask = pastMask(valid, B, P, T, g); // [B, 1, g*T, P+T]
      this.compute = (q, k, v) => groupedAttention(q, k, v, mask);
    }
  }

  attend(layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    const kv = this.past
      ? {
          k: tf.concat([this.past.layers[layer].k, k], 2), // [B, Hkv, P+T, D]
          v: tf.concat([this.past.layers[layer].v, v], 2),
        }
      : { k, v };
    this.layers.push(kv);
    return this.compute(q, kv.k, kv.v);
  }
}
