import { configFromHf, configToHf, contextLength, parameterCount, trainingMemoryBytes } from './config';
import { ropeFrequencies } from './ops';

const llama = (extra: Record<string, unknown> = {}) => ({
  architectures: ['LlamaForCausalLM'],
  hidden_size: 64,
  intermediate_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  vocab_size: 100,
  max_position_embeddings: 4096,
  ...extra,
});

describe('configFromHf', () => {
  it('should read Llama 3.x rope_scaling and write it back for transformers', () => {
    const rope_scaling = {
      rope_type: 'llama3',
      factor: 32,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    };
    const config = configFromHf(llama({ rope_scaling }));
    expect(config.rope_scaling).toEqual(rope_scaling);
    expect(configToHf(config)['rope_scaling']).toEqual({ ...rope_scaling, type: 'llama3' });
  });

  it('should read the legacy "type" key, treat "default" as plain RoPE, and refuse other types naming them', () => {
    expect(configFromHf(llama({ rope_scaling: { type: 'linear', factor: 2 } })).rope_scaling).toEqual({
      rope_type: 'linear',
      factor: 2,
    });
    expect(configFromHf(llama({ rope_scaling: { rope_type: 'default' } })).rope_scaling).toBeUndefined();
    expect(() => configFromHf(llama({ rope_scaling: { type: 'dynamic', factor: 2 } }))).toThrow(
      /rope_scaling type "dynamic" is not supported/,
    );
    expect(() => configFromHf(llama({ rope_scaling: { rope_type: 'llama3', factor: 8 } }))).toThrow(
      /rope_scaling\.low_freq_factor is required/,
    );
  });

  it('should refuse quantised checkpoints naming the field', () => {
    expect(() => configFromHf(llama({ quantization_config: { quant_method: 'gptq', bits: 4 } }))).toThrow(
      /"quantization_config" is set: quantised weights are not supported/,
    );
  });

  it("should honour Mistral's sliding window by bounding the context, and ignore Qwen2's unless enabled", () => {
    const mistral = configFromHf(
      llama({ architectures: ['MistralForCausalLM'], sliding_window: 1024, max_position_embeddings: 32768 }),
    );
    expect(contextLength(mistral)).toBe(1024);
    expect(configToHf(mistral)['max_position_embeddings']).toBe(32768);
    const qwen = configFromHf(llama({ architectures: ['Qwen2ForCausalLM'], sliding_window: 1024 }));
    expect(contextLength(qwen)).toBe(4096);
    const windowed = configFromHf(
      llama({ architectures: ['Qwen2ForCausalLM'], sliding_window: 1024, use_sliding_window: true }),
    );
    expect(contextLength(windowed)).toBe(1024);
  });

  it('should size training memory: 16 bytes per parameter in full fine-tuning, weights + adapters with LoRA', () => {
    const config = configFromHf(llama());
    const n = parameterCount(config);
    expect(trainingMemoryBytes(config, null)).toBe(16 * n);
    // q_proj: 64 → 64, v_proj: 64 → 32 (2 KV heads of 16); rank 4; 2 layers
    const adapters = 2 * 4 * (64 + 64 + (64 + 32));
    expect(trainingMemoryBytes(config, { rank: 4, targets: ['q_proj', 'v_proj'] })).toBe(
      4 * n + 16 * adapters,
    );
  });
});

describe('ropeFrequencies', () => {
  const d = 128;
  const theta = 500000;
  const plain = ropeFrequencies(d, theta).invFreq;

  it('should scale Llama 3.1 frequencies: high ones kept, low ones divided by the factor, a ramp between', () => {
    const { invFreq, attentionFactor } = ropeFrequencies(d, theta, {
      rope_type: 'llama3',
      factor: 8,
      low_freq_factor: 1,
      high_freq_factor: 4,
      original_max_position_embeddings: 8192,
    });
    expect(attentionFactor).toBe(1);
    expect(invFreq[0]).toBe(plain[0]);
    expect(invFreq[63]).toBeCloseTo(plain[63] / 8, 15);
    const ratios = Array.from(invFreq, (f, i) => plain[i] / f);
    expect(ratios.every((r, i) => i === 0 || r >= ratios[i - 1] - 1e-12)).toBe(true); // monotone ramp
    expect(ratios.some((r) => r > 1.01 && r < 7.99)).toBe(true);
  });

  it('should divide every frequency by the factor for linear scaling', () => {
    const { invFreq } = ropeFrequencies(d, theta, { rope_type: 'linear', factor: 4 });
    invFreq.forEach((f, i) => expect(f).toBeCloseTo(plain[i] / 4, 15));
  });

  it('should interpolate yarn between extrapolation and interpolation, with attention factor 0.1·ln(s) + 1', () => {
    const { invFreq, attentionFactor } = ropeFrequencies(64, 1e6, {
      rope_type: 'yarn',
      factor: 4,
      original_max_position_embeddings: 32768,
    });
    const base = ropeFrequencies(64, 1e6).invFreq;
    expect(attentionFactor).toBeCloseTo(0.1 * Math.log(4) + 1, 12);
    expect(invFreq[0]).toBeCloseTo(base[0], 6);
    expect(invFreq[31]).toBeCloseTo(base[31] / 4, 12);
  });
});
