import * as tf from '@tensorflow/tfjs-core';

import type { CachedPrefix, LayerKV } from '@tracetune/model';

interface Entry {
  id: number;
  tokens: number[];
  layers: LayerKV[]; // [1, Hkv, tokens.length, D]
  bytes: number;
  lastUsed: number;
}

/** A match of a prompt in the cache: `take()` copies the prefix's keys and values for one prefill. */
export interface PrefixHit {
  /** Identifies the cached entry and length: prompts with equal keys can share one batched prefill. */
  key: string;
  length: number;
  /**
   * The entry's keys and values ([1, Hkv, ≥ length, D] per layer; the match is columns 0 … length − 1), borrowed:
   * valid until the next insert into the cache, never to be disposed. For copying straight into another cache.
   */
  layers: readonly LayerKV[];
  /** The prefix's keys and values ([1, Hkv, length, D] per layer), the caller's to dispose after the prefill. */
  take(): CachedPrefix;
}

export interface PrefixCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Prompt tokens served from the cache instead of computed. */
  reusedTokens: number;
}

/**
 * Automatic prefix caching: keys/values of recent prompts, so a prompt that starts like an earlier one (a chat
 * template, a system prompt, few-shot examples) only computes what differs. Matching is token-granular (entries are
 * whole prompts, sliced to the common prefix), the longest match wins, matches shorter than `minLength` tokens are
 * not worth their copy, at least one token is always left to compute (its logits start the generation), and entries
 * are evicted least recently used beyond `maxBytes`.
 *
 * Reusing cached keys changes only how the prompt's keys and values are computed (the same products, in other batch
 * shapes), so logits agree with a full prefill to float rounding (≈ 1e-6), not bit for bit.
 */
export class PrefixCache {
  private readonly entries: Entry[] = [];
  private clock = 0;
  private nextId = 0;
  private readonly counters = { hits: 0, misses: 0, reusedTokens: 0 };

  constructor(
    private readonly maxBytes: number,
    private readonly minLength = 8,
  ) {}

  get stats(): PrefixCacheStats {
    return {
      entries: this.entries.length,
      bytes: this.entries.reduce((s, e) => s + e.bytes, 0),
      ...this.counters,
    };
  }

  /** The longest cached prefix of `prompt` that leaves at least one token to compute, or null. */
  lookup(prompt: readonly number[]): PrefixHit | null {
    if (this.maxBytes <= 0) return null;
    let best: Entry | null = null;
    let bestLength = this.minLength - 1;
    for (const entry of this.entries) {
      const length = Math.min(commonPrefix(entry.tokens, prompt), prompt.length - 1);
      if (length > bestLength) {
        best = entry;
        bestLength = length;
      }
    }
    if (!best) {
      this.counters.misses += 1;
      return null;
    }
    best.lastUsed = ++this.clock;
    this.counters.hits += 1;
    this.counters.reusedTokens += bestLength;
    const entry = best;
    const n = bestLength;
    return {
      key: `${entry.id}:${n}`,
      length: n,
      layers: entry.layers,
      take: () => ({
        length: n,
        layers: tf.tidy(() =>
          entry.layers.map(({ k, v }) => ({
            k: n === k.shape[2] ? tf.clone(k) : (tf.slice(k, [0, 0, 0, 0], [-1, -1, n, -1]) as tf.Tensor4D),
            v: n === v.shape[2] ? tf.clone(v) : (tf.slice(v, [0, 0, 0, 0], [-1, -1, n, -1]) as tf.Tensor4D),
          })),
        ),
      }),
    };
  }

  /**
   * Remembers `prompt`, whose keys and values are row `row`, columns 0… of `cache` (a KVCache straight out of
   * `prefillBatch`, or a SlotCache and the prompt's slot), unless a cached entry already covers it.
   */
  insert(prompt: readonly number[], cache: { layers: LayerKV[] }, row: number): void {
    if (this.maxBytes <= 0) return;
    const length = prompt.length;
    if (length < this.minLength) return;
    const covering = this.entries.find(
      (e) => e.tokens.length >= length && commonPrefix(e.tokens, prompt) >= length,
    );
    if (covering) {
      covering.lastUsed = ++this.clock;
      return;
    }
    const layers = tf.tidy(() =>
      cache.layers.map(({ k, v }) => ({
        k: tf.slice(k, [row, 0, 0, 0], [1, -1, length, -1]) as tf.Tensor4D,
        v: tf.slice(v, [row, 0, 0, 0], [1, -1, length, -1]) as tf.Tensor4D,
      })),
    );
    const bytes = layers.reduce((s, { k, v }) => s + (k.size + v.size) * 4, 0);
    // An entry this one extends is now redundant: every prompt it matched, this one matches as far.
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i];
      if (e.tokens.length < length && commonPrefix(e.tokens, prompt) === e.tokens.length) this.remove(i);
    }
    this.entries.push({
      id: this.nextId++,
      tokens: prompt.slice(0, length),
      layers,
      bytes,
      lastUsed: ++this.clock,
    });
    this.evict();
  }

  clear(): void {
    while (this.entries.length) this.remove(0);
  }

  private evict(): void {
    let total = this.entries.reduce((s, e) => s + e.bytes, 0);
    while (total > this.maxBytes && this.entries.length) {
      let oldest = 0;
      for (let i = 1; i < this.entries.length; i++)
        if (this.entries[i].lastUsed < this.entries[oldest].lastUsed) oldest = i;
      total -= this.entries[oldest].bytes;
      this.remove(oldest);
    }
  }

  private remove(index: number): void {
    disposeLayers(this.entries[index].layers);
    this.entries.splice(index, 1);
  }
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Disposes the tensors of a prefix handed out by `PrefixHit.take`. */
export function disposePrefix(prefix: CachedPrefix): void {
  disposeLayers(prefix.layers);
}

function disposeLayers(layers: readonly LayerKV[]): void {
  for (const { k, v } of layers) {
    k.dispose();
    v.dispose();
  }
}
