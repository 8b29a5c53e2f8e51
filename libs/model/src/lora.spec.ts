import * as tf from '@tensorflow/tfjs-core';

import { applyGrads, maxAbsDiff, tinyConfig, useBackend, values } from '../test/helpers';
import { TransformerModel } from './model';

describe('LoRA', () => {
  beforeAll(() => useBackend('cpu'));
  const ids = [
    [1, 5, 9, 13, 17, 21],
    [2, 6, 10, 14, 18, 22],
  ];
  const targets = ids.map((r) => r.map((t) => (t + 3) % 40));

  function trainLora(model: TransformerModel, steps: number): void {
    const opt = tf.train.adam(2e-2);
    for (let i = 0; i < steps; i++) {
      const { grads, value } = tf.variableGrads(
        () =>
          tf.neg(tf.mean(model.logProbsOfTargets(ids, targets, { training: true }).logProbs)) as tf.Scalar,
      );
      applyGrads(opt, grads);
      tf.dispose([grads, value]);
    }
    opt.dispose();
  }

  it('should start identical to the base model, train only adapters, and leave base weights unchanged', () => {
    const model = TransformerModel.random(tinyConfig(), 1);
    const before = model.logits(ids);
    const baseBefore = new Map([...model.namedWeights()].map(([n, v]) => [n, values(v)]));
    model.addLora({ rank: 4, alpha: 8, dropout: 0.1, targets: ['q_proj', 'v_proj', 'down_proj'] }, 2);
    const atStart = model.logits(ids);
    expect(maxAbsDiff(values(atStart), values(before))).toBe(0); // B = 0 ⇒ A·B = 0
    // 2 layers × 3 targets × (A, B) = 12 trainable variables
    expect(model.trainableVariables().length).toBe(12);
    trainLora(model, 10);
    const after = model.logits(ids);
    expect(maxAbsDiff(values(after), values(before))).toBeGreaterThan(1e-3);
    for (const [n, v] of model.namedWeights()) expect(values(v)).toEqual(baseBefore.get(n));
    tf.dispose([before, atStart, after]);
    model.dispose();
  });

  it('should give the same logits after merging adapters into the base weights', () => {
    const model = TransformerModel.random(tinyConfig(), 3);
    model.addLora(
      { rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'k_proj', 'o_proj', 'gate_proj', 'up_proj'] },
      4,
    );
    trainLora(model, 5);
    const adapted = model.logits(ids);
    model.mergeLora();
    expect(model.loraConfig()).toBeNull();
    const merged = model.logits(ids);
    expect(maxAbsDiff(values(adapted), values(merged))).toBeLessThan(1e-5);
    expect(model.trainableVariables().length).toBe(model.namedWeights().size);
    tf.dispose([adapted, merged]);
    model.dispose();
  });

  it('should reject unknown targets and bad ranks', () => {
    const model = TransformerModel.random(tinyConfig(), 5);
    expect(() => model.addLora({ rank: 0, alpha: 1, dropout: 0, targets: ['q_proj'] })).toThrow(/rank/);
    expect(() => model.addLora({ rank: 2, alpha: 1, dropout: 0, targets: ['qkv' as 'q_proj'] })).toThrow(
      /Unknown LoRA target "qkv"; known: q_proj/,
    );
    model.dispose();
  });
});
