import { join } from 'node:path';

import {
  backendMemoryLimitBytes,
  builtinConfig,
  checkpointConfig,
  freezePeakBytes,
  inferenceBytes,
  loadCheckpoint,
  TransformerModel,
  type ModelConfig,
} from '@tracetune/model';
import { ByteTokenizer, type Tokenizer } from '@tracetune/tokenizer';

import { PrefixCache } from './prefix-cache';
import type { ModelRef } from './request';

/** Share of a bounded backend memory (the wasm heap) that one model's weights and inference copies may take. */
const HEAP_SHARE_FOR_WEIGHTS = 0.75;

export interface LoadedModel {
  id: string;
  model: TransformerModel;
  tokenizer: Tokenizer;
  /** Keys/values of recent prompt prefixes (automatic prefix caching), within its own byte budget. */
  prefixes: PrefixCache;
  bytes: number;
  /** Requests currently using it: a model in use is never evicted. */
  users: number;
  lastUsed: number;
}

/**
 * Models loaded on first use, kept in an LRU bounded by a memory budget (`inferenceBytes`: the weights and the inference
 * copies the model derives from them, fused and packed for the matmul kernels; plus the prefix cache). Concurrent first
 * requests for one model share one load. A model that cannot fit the backend's memory (the wasm heap) is refused
 * before any weight is read.
 */
export class ModelCache {
  private readonly loaded = new Map<string, LoadedModel>();
  private readonly loading = new Map<string, Promise<LoadedModel>>();

  constructor(
    private readonly dataDir: string,
    private readonly budgetBytes: number,
    /** Prefix cache budget per loaded model; 0 turns prefix caching off. */
    private readonly prefixCacheBytes = 0,
  ) {}

  async acquire(ref: ModelRef): Promise<LoadedModel> {
    const ready = this.loaded.get(ref.id);
    if (ready) {
      ready.users += 1;
      ready.lastUsed = Date.now();
      return ready;
    }
    let pending = this.loading.get(ref.id);
    if (!pending) {
      pending = Promise.resolve().then(() => this.load(ref));
      this.loading.set(ref.id, pending);
      pending.finally(() => this.loading.delete(ref.id)).catch(() => undefined);
    }
    const model = await pending;
    model.users += 1;
    model.lastUsed = Date.now();
    this.evict(); // only after taking a use, so the model just loaded is not the one evicted
    return model;
  }

  release(model: LoadedModel): void {
    model.users = Math.max(0, model.users - 1);
    this.evict();
  }

  /** How many loads have happened (for tests of load-once, and metrics). */
  loads = 0;
  /** How many models were evicted to stay within the budget (metrics). */
  evictions = 0;

  /** Memory the resident models take, as the budget counts it. */
  get residentBytes(): number {
    return [...this.loaded.values()].reduce((s, m) => s + m.bytes, 0);
  }

  get residentIds(): string[] {
    return [...this.loaded.keys()];
  }

  private load(ref: ModelRef): LoadedModel {
    this.loads += 1;
    const dir = ref.dir ?? (ref.artifactKey ? join(this.dataDir, ...ref.artifactKey.split('/')) : null);
    const config: ModelConfig | null = ref.builtin
      ? builtinConfig(ref.builtin)
      : dir
        ? checkpointConfig(dir)
        : null;
    // On wasm (a bounded heap) models are frozen for serving: weights held once, packed (TransformerModel.freezeForServing).
    const limit = backendMemoryLimitBytes();
    const frozen = limit !== null;
    const bytes = config ? inferenceBytes(config, { frozen }) : 0;
    const peak = config && frozen ? Math.max(bytes, freezePeakBytes(config)) : bytes;
    if (limit !== null && peak > limit * HEAP_SHARE_FOR_WEIGHTS) {
      throw new Error(
        `it needs ≈ ${Math.ceil(peak / 2 ** 20)} MiB for its weights and inference copies, more than ${HEAP_SHARE_FOR_WEIGHTS * 100} % of the ${limit / 2 ** 30} GiB the wasm backend can hold per engine thread (the rest is for KV caches and activations); serve it where the native TensorFlow backend is installed`,
      );
    }
    let model: TransformerModel;
    let tokenizer: Tokenizer;
    if (ref.builtin) {
      // Built-in base models are their deterministic initialisation (seed 0): untrained, useful as fine-tuning bases.
      model = TransformerModel.random(builtinConfig(ref.builtin), 0);
      tokenizer = new ByteTokenizer();
    } else if (dir) {
      const checkpoint = loadCheckpoint(dir);
      model = checkpoint.model;
      tokenizer = checkpoint.tokenizer;
    } else {
      throw new Error(`model ${ref.id} has neither a built-in architecture nor weights`);
    }
    if (frozen) model.freezeForServing();
    const entry: LoadedModel = {
      id: ref.id,
      model,
      tokenizer,
      prefixes: new PrefixCache(this.prefixCacheBytes),
      bytes: bytes + this.prefixCacheBytes,
      users: 0,
      lastUsed: Date.now(),
    };
    this.loaded.set(ref.id, entry);
    return entry;
  }

  private evict(): void {
    let total = [...this.loaded.values()].reduce((s, m) => s + m.bytes, 0);
    const idle = [...this.loaded.values()]
      .filter((m) => m.users === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const victim of idle) {
      if (total <= this.budgetBytes) break;
      victim.prefixes.clear();
      victim.model.dispose();
      this.loaded.delete(victim.id);
      this.evictions += 1;
      total -= victim.bytes;
    }
  }
}
