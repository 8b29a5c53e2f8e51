import * as tf from '@tensorflow/tfjs-core';

import { maxAbsDiff, tinyConfig, useBackend } from '../test/helpers';
import { decodeStep, prefillBatch, uncachedLogits } from './kv-cache';
import { TransformerModel } from './model';

/** Names of the kernels an inference pass dispatches. */
async function kernelsOf(run: () => void): Promise<Set<string>> {
  const info = await tf.profile(run);
  return new Set(info.kernelNames);
}

// The fast-path seam: what an inference pass runs is chosen once per pass from the backend, and the wasm kernels are
// chosen only on wasm. Every other backend (cpu here; tensorflow, webgpu) runs the generic tfjs path.
describe.each(['cpu', 'wasm'] as const)('inference passes on %s', (backend) => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend(backend);
    model = TransformerModel.random(tinyConfig(), 2);
  });
  afterAll(async () => {
    model.dispose();
    await useBackend('cpu');
  });

  it(`should ${backend === 'wasm' ? '' : 'not '}run the wasm kernels, with the uncached model's logits`, async () => {
    const prompts = [
      [3, 9, 27, 5],
      [7, 8],
    ];
    let logits: Float32Array[] = [];
    const kernels = await kernelsOf(() => {
      const { cache } = prefillBatch(model, prompts);
      logits = decodeStep(model, cache, [11, 12]);
      cache.dispose();
    });
    const ours = [...kernels].filter((k) => k.startsWith('Tracetune')).sort();
    expect(ours).toEqual(backend === 'wasm' ? ['TracetuneAttention', 'TracetunePackedMatMul'] : []);
    expect(maxAbsDiff(logits[0], uncachedLogits(model, [...prompts[0], 11]))).toBeLessThan(1e-4);
    expect(maxAbsDiff(logits[1], uncachedLogits(model, [...prompts[1], 12]))).toBeLessThan(1e-4);
  });
});
