/**
 * Every random stream of a run is derived from (seed, step, stream) instead of being carried forward, so the whole RNG
 * state of a checkpoint is {seed, step}: a resumed run draws exactly what the uninterrupted run would have drawn.
 */
export const STREAMS = {
  sampling: 1,
  evaluation: 2,
  dataOrder: 3,
  loraInit: 4,
  dropout: 5,
} as const;

export type StreamName = keyof typeof STREAMS;

/** A uint32 seed mixing (seed, index, stream) through murmur3's finaliser (good avalanche on small inputs). */
export function streamSeed(seed: number, index: number, stream: StreamName): number {
  let h = (seed >>> 0) ^ Math.imul(STREAMS[stream], 0x9e3779b1);
  for (const word of [index >>> 0, Math.floor(index / 4294967296) >>> 0]) {
    h = Math.imul(h ^ word, 0xcc9e2d51);
    h = (h << 15) | (h >>> 17);
    h = Math.imul(h, 0x1b873593);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
