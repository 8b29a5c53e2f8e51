import { builtinConfig, configFromHf, type ModelConfig } from '@tracetune/model';

/** Qwen2-0.5B's shape (its HF config.json), randomly initialised: no weights are downloaded. */
export const QWEN2_05B = {
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
  max_position_embeddings: 32768,
  tie_word_embeddings: true,
  bos_token_id: 151643,
  eos_token_id: 151643,
};

export interface BenchShape {
  name: string;
  config: ModelConfig;
  /** Train step batch: rows × tokens (forward + backward + AdamW). */
  train: { batch: number; seq: number };
  /** Decode: prompt tokens and new tokens per measured run. */
  decode: { prompt: number; tokens: number };
}

/**
 * The models measured. Full: tt-mini and Qwen2-0.5B-shaped. Quick (a check of the whole script on a CPU or a software
 * adapter, not a measurement): tt-nano and a 1-layer Qwen2-shaped model (biases, GQA 7:1, tied head) a quarter wide.
 */
export function benchShapes(quick: boolean): BenchShape[] {
  if (quick)
    return [
      {
        name: 'tt-nano',
        config: builtinConfig('tt-nano'),
        train: { batch: 2, seq: 16 },
        decode: { prompt: 8, tokens: 4 },
      },
      {
        name: 'qwen2-mini-1layer',
        config: configFromHf({
          ...QWEN2_05B,
          ...{ hidden_size: 224, intermediate_size: 1216, num_hidden_layers: 1, vocab_size: 1024 },
          ...{ bos_token_id: 1, eos_token_id: 2 },
        }),
        train: { batch: 1, seq: 8 },
        decode: { prompt: 4, tokens: 2 },
      },
    ];
  return [
    {
      name: 'tt-mini',
      config: builtinConfig('tt-mini'),
      train: { batch: 8, seq: 128 },
      decode: { prompt: 16, tokens: 32 },
    },
    {
      name: 'qwen2-0.5b',
      config: configFromHf(QWEN2_05B),
      train: { batch: 4, seq: 64 },
      decode: { prompt: 16, tokens: 16 },
    },
  ];
}

/** The decode batch sizes measured. */
export const DECODE_BATCHES = [1, 32];
