import * as tf from '@tensorflow/tfjs-core';

import {
  applyGrads,
  maxAbsDiff,
  randomizeBiases,
  tinyConfig,
  tinyQwen2Config,
  tinyQwen3Config,
  useBackend,
  values,
} from '../test/helpers';
import { referenceLogits } from '../test/reference';
import { builtinConfig, configFromHf, parameterCount } from './config';
import { TransformerModel } from './model';
import { freezePeakBytes, inferenceBytes, PACK_ALL_MAX_PARAMETERS } from './serving-weights';

/** Random values in ±0.5 added to every weight whose name contains `part`, so that a misplaced or stale one shows. */
function perturb(model: TransformerModel, part: string, seed: number): void {
  for (const [name, v] of model.namedWeights()) {
    if (name.includes(part)) v.assign(tf.add(v, tf.randomUniform(v.shape, -0.5, 0.5, 'float32', seed++)));
  }
}

// The three architectures against a float64 forward pass, on cpu (tfjs ops) and on wasm (inference passes use fused
// and packed weights and the packed matmul kernel; see kernels/matmul.ts).
describe.each(['cpu', 'wasm'] as const)('TransformerModel forward pass on %s', (backend) => {
  beforeAll(() => useBackend(backend));
  afterAll(() => useBackend('cpu'));

  it('should match a float64 reference forward pass (Llama GQA, untied head)', () => {
    const model = TransformerModel.random(tinyConfig(), 3);
    const tokens = [5, 9, 1, 33, 7, 7, 20];
    const got = model.logits([tokens]);
    // Tolerance: float32 vs float64 over 2 layers of width 16; logits are O(0.1).
    expect(maxAbsDiff(values(got), referenceLogits(model, tokens).flat())).toBeLessThan(1e-5);
    got.dispose();
    model.dispose();
  });

  it('should match the reference with Qwen2 q/k/v biases and a tied head', () => {
    const model = TransformerModel.random(tinyQwen2Config({ tie_word_embeddings: true }), 4);
    randomizeBiases(model);
    const tokens = [3, 14, 15, 9, 26];
    const got = model.logits([tokens]);
    expect(maxAbsDiff(values(got), referenceLogits(model, tokens).flat())).toBeLessThan(1e-5);
    got.dispose();
    model.dispose();
  });

  it('should match the reference for Qwen3 (per-head q/k RMSNorm, head_dim ≠ hidden/heads)', () => {
    const model = TransformerModel.random(tinyQwen3Config(), 6);
    // Non-trivial norm weights, so that a missing or misplaced q/k norm changes the logits.
    perturb(model, '_norm.', 9);
    const tokens = [2, 7, 1, 8, 28, 18];
    const got = model.logits([tokens]);
    expect(maxAbsDiff(values(got), referenceLogits(model, tokens).flat())).toBeLessThan(1e-5);
    got.dispose();
    model.dispose();
  });

  it.each([
    [
      'llama3',
      {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8,
      },
    ],
    ['linear', { rope_type: 'linear', factor: 2 }],
    ['yarn', { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 16 }],
  ] as const)(
    'should match the reference with rope_scaling %s (and differ from plain RoPE)',
    (_, scaling) => {
      const config = tinyConfig({ rope_theta: 10000 });
      const scaled = TransformerModel.random({ ...config, rope_scaling: { ...scaling } }, 8);
      const plain = TransformerModel.random(config, 8);
      const tokens = [4, 8, 15, 16, 23, 32, 9];
      const [got, unscaled] = [scaled.logits([tokens]), plain.logits([tokens])];
      expect(maxAbsDiff(values(got), referenceLogits(scaled, tokens).flat())).toBeLessThan(1e-5);
      expect(maxAbsDiff(values(got), values(unscaled))).toBeGreaterThan(3e-5); // (the match above is to 1e-5)
      tf.dispose([got, unscaled]);
      [scaled, plain].forEach((m) => m.dispose());
    },
  );

  it.each([
    ['Llama', () => tinyConfig()],
    ['Qwen3', () => tinyQwen3Config()],
  ])('should follow reassigned weights (%s: derived inference weights are rebuilt)', (_, config) => {
    const model = TransformerModel.random(config(), 7);
    const tokens = [4, 8, 15, 16, 23];
    model.logits([tokens]).dispose(); // builds the derived weights
    perturb(model, '', 21); // every weight, the embedding (tied head) included
    const got = model.logits([tokens]);
    expect(maxAbsDiff(values(got), referenceLogits(model, tokens).flat())).toBeLessThan(1e-5);
    got.dispose();
    model.dispose();
  });

  it('should release every tensor, derived inference weights included, when a model is disposed', () => {
    const before = tf.memory().numTensors;
    const model = TransformerModel.random(tinyConfig(), 8);
    model.logits([[1, 2, 3]]).dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('inferenceBytes', () => {
  afterAll(() => useBackend('cpu'));

  // What the first inference pass allocates on wasm (fused and packed copies) is what the estimate says, to 1 %.
  it.each([
    ['tt-micro (fused layers)', () => builtinConfig('tt-micro')],
    ['Qwen3 (q/k norms: every projection packed alone)', () => tinyQwen3Config()],
  ])('should match the bytes a %s model derives for inference', async (_, config) => {
    await useBackend('wasm');
    const model = TransformerModel.random(config(), 1);
    const weights = tf.memory().numBytes;
    model.logits([[1, 2, 3]]).dispose();
    const derived = tf.memory().numBytes - weights;
    const expected = inferenceBytes(model.config) - 4 * parameterCount(model.config);
    expect(derived).toBeGreaterThan(0);
    expect(Math.abs(derived - expected) / expected).toBeLessThan(0.01);
    model.dispose();
  });

  it('should leave models above PACK_ALL_MAX_PARAMETERS with their fused copies only (a 0.5B Qwen2 fits 3 GiB, frozen or not)', () => {
    const qwen = configFromHf({
      architectures: ['Qwen2ForCausalLM'],
      model_type: 'qwen2',
      vocab_size: 151936,
      hidden_size: 896,
      intermediate_size: 4864,
      num_hidden_layers: 24,
      num_attention_heads: 14,
      num_key_value_heads: 2,
      rms_norm_eps: 1e-6,
      rope_theta: 1000000,
      tie_word_embeddings: true,
    });
    const params = parameterCount(qwen);
    expect(params).toBeGreaterThan(PACK_ALL_MAX_PARAMETERS);
    const qkv = 2 * (14 + 2) * 64 + 2 * 64; // q|k|v|rot(q)|rot(k)
    const fused = 24 * (896 * (qkv + 2 * 4864) + qkv); // with gate|up, and the fused q/k/v bias
    expect(inferenceBytes(qwen)).toBe(4 * (params + fused));
    expect(inferenceBytes(qwen)).toBeLessThan(3 * 2 ** 30);
    // Frozen for serving (the inference server on wasm): held once, and under the model cache's 3 GiB while freezing.
    expect(inferenceBytes(qwen, { frozen: true })).toBeLessThan(inferenceBytes(qwen));
    expect(freezePeakBytes(qwen)).toBeLessThan(3 * 2 ** 30);
  });
});

describe('TransformerModel.freezeForServing (wasm)', () => {
  beforeAll(() => useBackend('wasm'));
  afterAll(() => useBackend('cpu'));

  it.each([
    ['Llama, untied head', () => tinyConfig()],
    ['Qwen2 biases, tied head', () => tinyQwen2Config({ tie_word_embeddings: true })],
    ['Qwen3 q/k norms', () => tinyQwen3Config()],
  ])('should serve the same logits with its weights held once, packed (%s)', (_, config) => {
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6];
    const before = tf.memory().numBytes;
    const model = TransformerModel.random(config(), 12);
    randomizeBiases(model);
    const reference = referenceLogits(model, tokens).flat();
    model.freezeForServing();
    expect(model.frozenForServing).toBe(true);
    // Held: what inferenceBytes says for a frozen model, besides the rotate-half matrix.
    const D = model.config.head_dim;
    const held = tf.memory().numBytes - before;
    expect(Math.abs(held - inferenceBytes(model.config, { frozen: true }))).toBeLessThanOrEqual(4 * D * D);
    const got = model.logits([tokens]);
    expect(maxAbsDiff(values(got), reference)).toBeLessThan(1e-5);
    got.dispose();
    model.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });

  it('should refuse training, LoRA and its weights once frozen, with a clear error', () => {
    const model = TransformerModel.random(tinyConfig(), 13);
    model.freezeForServing();
    expect(() => model.trainableVariables()).toThrow(/frozen for serving \(freezeForServing\): no training/);
    expect(() => model.addLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj'] })).toThrow(
      /frozen for serving/,
    );
    expect(() => model.namedWeights()).toThrow(/frozen for serving/);
    expect(() => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(model.logits([[1, 2]]), x)))(tf.scalar(1))).toThrow(
      /frozen for serving/,
    );
    model.dispose();
  });

  it('should stay peak-bounded while freezing: all weights, the packed head and one layer', () => {
    const config = builtinConfig('tt-micro');
    const model = TransformerModel.random(config, 14);
    const start = tf.memory().numBytes;
    let peak = start;
    const track = tf.engine().makeTensor.bind(tf.engine());
    tf.engine().makeTensor = ((...args: Parameters<typeof track>) => {
      const t = track(...args);
      peak = Math.max(peak, tf.memory().numBytes);
      return t;
    }) as typeof track;
    try {
      model.freezeForServing();
    } finally {
      tf.engine().makeTensor = track;
    }
    expect(peak - start + 4 * parameterCount(config)).toBeLessThanOrEqual(freezePeakBytes(config));
    expect(tf.memory().numBytes - start + 4 * parameterCount(config)).toBeLessThan(inferenceBytes(config)); // held once
    model.dispose();
  });
});

/** Logits of a LoRA model (random B, so that the adapters count) built from fixed seeds on one backend. */
async function loraLogits(backend: 'cpu' | 'wasm'): Promise<number[]> {
  await useBackend(backend);
  const model = TransformerModel.random(tinyConfig(), 11);
  model.addLora({ rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'o_proj', 'up_proj', 'down_proj'] }, 3);
  let seed = 40;
  for (const v of model.trainableVariables())
    if (v.name.endsWith('lora_B')) v.assign(tf.randomUniform(v.shape, -0.3, 0.3, 'float32', seed++));
  const got = model.logits([[7, 3, 9, 1, 30]]);
  const out = values(got);
  got.dispose();
  model.dispose();
  return out;
}

describe('TransformerModel with LoRA adapters', () => {
  afterAll(() => useBackend('cpu'));

  it('should give the same logits on wasm (packed base weights, adapters through tfjs) as on cpu', async () => {
    const cpu = await loraLogits('cpu');
    const wasm = await loraLogits('wasm');
    expect(maxAbsDiff(wasm, cpu)).toBeLessThan(1e-5);
    expect(Math.max(...cpu.map(Math.abs))).toBeGreaterThan(1e-3);
  });
});

describe('TransformerModel', () => {
  beforeAll(() => useBackend('cpu'));

  it('should compute log-probs of targets as log_softmax(logits) gathered, and the entropy', () => {
    const model = TransformerModel.random(tinyConfig(), 5);
    const ids = [
      [1, 2, 3, 4],
      [5, 6, 7, 8],
    ];
    const targets = [
      [2, 3, 4, 5],
      [6, 7, 8, 9],
    ];
    const { logProbs, entropy } = model.logProbsOfTargets(ids, targets, { entropy: true });
    const logits = model.logits(ids);
    const logSoftmax = tf.logSoftmax(logits);
    const expectedLp: number[] = [];
    const expectedH: number[] = [];
    const ls = logSoftmax.arraySync() as number[][][];
    ids.forEach((row, b) =>
      row.forEach((_, t) => {
        expectedLp.push(ls[b][t][targets[b][t]]);
        // H = −Σ p log p
        expectedH.push(-ls[b][t].reduce((s, l) => s + Math.exp(l) * l, 0));
      }),
    );
    expect(logProbs.shape).toEqual([2, 4]);
    expect(maxAbsDiff(values(logProbs), expectedLp)).toBeLessThan(1e-5);
    expect(maxAbsDiff(values(entropy!), expectedH)).toBeLessThan(1e-4);
    tf.dispose([logProbs, entropy!, logits, logSoftmax]);
    model.dispose();
  });

  it('should pass a finite-difference gradient check of Σ log-probs on tt-nano', () => {
    const model = TransformerModel.random(builtinConfig('tt-nano'), 7);
    const ids = [[72, 101, 108, 108, 111, 32]];
    const targets = [[101, 108, 108, 111, 32, 119]];
    const objective = (): tf.Scalar => tf.sum(model.logProbsOfTargets(ids, targets).logProbs) as tf.Scalar;
    const { grads } = tf.variableGrads(objective);
    // Probe the largest-gradient coordinate of several kinds of weight (embedding via gather, attention, MLP, norms).
    const names = [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.1.self_attn.v_proj.weight',
      'model.layers.2.mlp.down_proj.weight',
      'model.layers.3.input_layernorm.weight',
      'model.norm.weight',
    ];
    for (const name of names) {
      const v = model.weight(name);
      const g = grads[v.name].dataSync();
      let idx = 0;
      for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[idx])) idx = i;
      const base = v.dataSync().slice();
      const evalAt = (delta: number): number => {
        const d = base.slice();
        d[idx] += delta;
        v.assign(tf.tensor(d, v.shape));
        return tf.tidy(() => objective().dataSync()[0]);
      };
      // Central difference (f(w+ε) − f(w−ε)) / 2ε; ε = 1e-2 keeps float32 rounding of f (≈ 1e-6·|f|) small.
      const eps = 1e-2;
      const numeric = (evalAt(eps) - evalAt(-eps)) / (2 * eps);
      v.assign(tf.tensor(base, v.shape));
      expect(Math.abs(numeric - g[idx])).toBeLessThan(0.02 * Math.abs(g[idx]) + 1e-3);
    }
    tf.dispose(grads);
    model.dispose();
  });

  it('should overfit a fixed batch with a few dozen Adam steps', () => {
    const model = TransformerModel.random(tinyQwen2Config({ tie_word_embeddings: true }), 11);
    const seq = [1, 7, 3, 9, 12, 4, 30, 21, 8, 2, 17];
    const ids = [seq.slice(0, -1), seq.slice(1).reverse().slice(0, 10)];
    const targets = [seq.slice(1), [...ids[1].slice(1), 5]];
    const opt = tf.train.adam(3e-2);
    const loss = (): tf.Scalar =>
      tf.neg(tf.mean(model.logProbsOfTargets(ids, targets).logProbs)) as tf.Scalar;
    const first = tf.tidy(() => loss().dataSync()[0]);
    let last = first;
    for (let step = 0; step < 40; step++) {
      const { value, grads } = tf.variableGrads(loss);
      applyGrads(opt, grads);
      last = value.dataSync()[0];
      tf.dispose([value, grads]);
    }
    // Initial loss ≈ ln(40) = 3.69 (near-uniform); memorising 20 tokens should drive it near zero.
    expect(first).toBeGreaterThan(3.5);
    expect(last).toBeLessThan(0.3);
    opt.dispose();
    model.dispose();
  });

  it('should not leak tensors across training and inference steps', () => {
    const model = TransformerModel.random(tinyConfig(), 12);
    const opt = tf.train.adam(1e-3);
    const ids = [[1, 2, 3, 4, 5]];
    const step = (): void => {
      const { value, grads } = tf.variableGrads(
        () => tf.neg(tf.mean(model.logProbsOfTargets(ids, ids, { entropy: true }).logProbs)) as tf.Scalar,
      );
      applyGrads(opt, grads);
      tf.dispose([value, grads]);
      model.logits(ids).dispose();
    };
    step(); // creates Adam's slots and the cached causal mask
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    model.dispose();
  });

  it('should initialise deterministically from the seed, with parameter counts matching the config', () => {
    const a = TransformerModel.random(builtinConfig('tt-nano'), 42);
    const b = TransformerModel.random(builtinConfig('tt-nano'), 42);
    const c = TransformerModel.random(builtinConfig('tt-nano'), 43);
    const w = 'model.layers.1.mlp.up_proj.weight';
    expect(values(a.weight(w))).toEqual(values(b.weight(w)));
    expect(values(a.weight(w))).not.toEqual(values(c.weight(w)));
    const counted = a.trainableVariables().reduce((s, v) => s + v.size, 0);
    expect(counted).toBe(a.parameterCount());
    expect(counted).toBe(431_424); // derived in config.ts
    [a, b, c].forEach((m) => m.dispose());
  });
});

describe('TransformerModel memory', () => {
  beforeAll(() => useBackend('cpu'));

  it('should release every tensor when a model is disposed', () => {
    const before = tf.memory().numTensors;
    const model = TransformerModel.random(builtinConfig('tt-nano'), 1);
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
