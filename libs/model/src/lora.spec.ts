import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { applyGrads, maxAbsDiff, tinyConfig, useBackend, values } from '../test/helpers';
import { TransformerModel } from './model';
import { loadPeftAdapter, PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE, savePeftAdapter } from './peft';
import { SafetensorsFile } from './safetensors';

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

  it('should write PEFT adapter folders (names, [out, in] layout, config) that load back exactly', () => {
    const model = TransformerModel.random(tinyConfig(), 5);
    model.addLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'down_proj'] }, 6);
    trainLora(model, 2);
    const dir = mkdtempSync(join(tmpdir(), 'tt-peft-'));
    savePeftAdapter(model, dir, 'org/base');
    const config = JSON.parse(readFileSync(join(dir, PEFT_CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 4,
      base_model_name_or_path: 'org/base',
    });
    const file = new SafetensorsFile(join(dir, PEFT_WEIGHTS_FILE));
    const a = model.loraWeights().get('model.layers.1.self_attn.q_proj.weight.lora_A') as tf.Variable;
    const peftA = file.read('base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight');
    expect(peftA.shape).toEqual([2, a.shape[0]]);
    expect(peftA.data[1]).toBe(values(a)[2]); // [r, in][0][1] = [in, r][1][0]
    expect(file.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight')?.shape).toEqual([
      model.config.hidden_size,
      2,
    ]);
    file.close();
    const copy = TransformerModel.random(tinyConfig(), 5);
    copy.addLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'down_proj'] }, 99);
    loadPeftAdapter(copy, dir);
    const [x, y] = [model.logits(ids), copy.logits(ids)];
    expect(values(y)).toEqual(values(x));
    tf.dispose([x, y]);
    [model, copy].forEach((m) => m.dispose());
    rmSync(dir, { recursive: true, force: true });
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
