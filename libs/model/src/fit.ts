import { backendTensorLimitBytes } from './backend';
import type { ModelConfig } from './config';
import { activeAdapter, adapterSummary } from './webgpu';
import { tensorSpecs } from './weights';

const MiB = 2 ** 20;

/** The largest weight of a config (float32 bytes): the embedding or a projection of the widest layer. */
export function largestWeight(c: ModelConfig): { name: string; bytes: number } {
  let best = { name: '', bytes: 0 };
  for (const spec of tensorSpecs(c)) {
    const bytes = 4 * spec.shape.reduce((a, b) => a * b, 1);
    if (bytes > best.bytes) best = { name: spec.name, bytes };
  }
  return best;
}

/**
 * Refuses, before any weight is read or allocated, a model that the active backend cannot hold: on webgpu each
 * tensor is one GPU buffer, bounded by the adapter's limits (backendTensorLimitBytes).
 */
export function assertFitsBackend(c: ModelConfig): void {
  const limit = backendTensorLimitBytes();
  if (limit === null) return;
  const big = largestWeight(c);
  if (big.bytes <= limit) return;
  const adapter = activeAdapter();
  throw new Error(
    `the model does not fit this WebGPU adapter: its weight ${big.name} needs ${Math.ceil(big.bytes / MiB)} MiB in one buffer, more than the ${Math.floor(limit / MiB)} MiB the adapter allows (${adapter ? adapterSummary(adapter) : 'webgpu'}); use a GPU with larger limits or another backend`,
  );
}
