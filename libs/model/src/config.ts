/**
 * Architecture config in Hugging Face `config.json` vocabulary (LlamaConfig / Qwen2Config field names), so that a
 * config read from an HF checkpoint and one written by Tracetune are the same object.
 */
export interface ModelConfig {
  architectures: string[];
  model_type: 'llama' | 'qwen2' | 'qwen3';
  vocab_size: number;
  hidden_size: number;
  intermediate_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  /** Per-head size; HF derives hidden_size / num_attention_heads when absent. */
  head_dim: number;
  rms_norm_eps: number;
  rope_theta: number;
  max_position_embeddings: number;
  tie_word_embeddings: boolean;
  /** q/k/v projections carry biases (Qwen2 always; Llama when `attention_bias`). */
  attention_bias: boolean;
  /** Qwen3 applies an RMSNorm to each head of q and k before RoPE. */
  qk_norm: boolean;
  bos_token_id: number | null;
  eos_token_id: number | number[] | null;
  pad_token_id?: number | null;
  torch_dtype?: string;
  hidden_act: 'silu';
  /** The built-in tokenizer name for tt-* models ("byte"); absent for HF checkpoints. */
  tracetune_tokenizer?: string;
  /** RoPE frequency scaling (Llama 3.x `llama3`, `linear`, `yarn`); absent or null: plain RoPE. */
  rope_scaling?: RopeScaling | null;
  /**
   * Mistral's attention window. Honoured by never running a sequence longer than it (see `contextLength`): within
   * the window, sliding-window attention is plain causal attention.
   */
  sliding_window?: number | null;
}

/** `rope_scaling` of config.json, as transformers reads it (`rope_type`, or the older `type`). */
export interface RopeScaling {
  rope_type: 'linear' | 'llama3' | 'yarn';
  factor: number;
  /** llama3 */
  low_freq_factor?: number;
  high_freq_factor?: number;
  /** llama3 (required) and yarn (defaults to max_position_embeddings) */
  original_max_position_embeddings?: number;
  /** yarn */
  attention_factor?: number;
  beta_fast?: number;
  beta_slow?: number;
}

/** The longest sequence the model runs: max_position_embeddings, or the sliding window when shorter. */
export function contextLength(c: ModelConfig): number {
  return c.sliding_window ? Math.min(c.max_position_embeddings, c.sliding_window) : c.max_position_embeddings;
}

function positive(scaling: Record<string, unknown>, key: string, required: boolean): number | undefined {
  const v = scaling[key];
  if (v === undefined || v === null) {
    if (required) throw new Error(`config.json: rope_scaling.${key} is required`);
    return undefined;
  }
  if (typeof v !== 'number' || !(v > 0))
    throw new Error(`config.json: rope_scaling.${key} must be a positive number`);
  return v;
}

/** Reads `rope_scaling`: llama3, linear and yarn; any other type fails naming it. */
export function ropeScalingFromHf(raw: unknown): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== 'object') throw new Error('config.json: rope_scaling must be an object or null');
  const r = raw as Record<string, unknown>;
  const type = r['rope_type'] ?? r['type'];
  if (type === 'default') return null;
  if (type !== 'linear' && type !== 'llama3' && type !== 'yarn') {
    throw new Error(
      `config.json: rope_scaling type ${JSON.stringify(type)} is not supported (supported: linear, llama3, yarn)`,
    );
  }
  const llama3 = type === 'llama3';
  const out: RopeScaling = { rope_type: type, factor: positive(r, 'factor', true) as number };
  const keys = llama3
    ? ['low_freq_factor', 'high_freq_factor', 'original_max_position_embeddings']
    : type === 'yarn'
      ? ['original_max_position_embeddings', 'attention_factor', 'beta_fast', 'beta_slow']
      : [];
  for (const key of keys) {
    const v = positive(r, key, llama3);
    if (v !== undefined) (out as unknown as Record<string, number>)[key] = v;
  }
  return out;
}

/** Fields whose presence means the weights are quantised (refused: we compute in float32 from float weights). */
const QUANTISATION_FIELDS = ['quantization_config', 'quantization'];

function slidingWindow(raw: Record<string, unknown>, arch: string): number | null {
  const w = raw['sliding_window'];
  if (w === undefined || w === null) return null;
  // Qwen2/Qwen3 carry a window but only use it with use_sliding_window (off in the released checkpoints).
  if (arch !== 'MistralForCausalLM' && raw['use_sliding_window'] !== true) return null;
  if (typeof w !== 'number' || !Number.isInteger(w) || w < 1)
    throw new Error(`config.json: sliding_window must be a positive integer (got ${JSON.stringify(w)})`);
  return w;
}

const SUPPORTED_ARCHITECTURES: Record<string, ModelConfig['model_type']> = {
  LlamaForCausalLM: 'llama',
  MistralForCausalLM: 'llama',
  Qwen2ForCausalLM: 'qwen2',
  Qwen3ForCausalLM: 'qwen3',
};

function num(raw: Record<string, unknown>, key: string, fallback?: number): number {
  const v = raw[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new Error(`config.json: "${key}" must be a number (got ${JSON.stringify(v)})`);
}

/**
 * Reads an HF `config.json` object. Supports Llama, Mistral (without sliding window), Qwen2 and Qwen3 causal LMs;
 * anything else fails naming the architecture. Defaults follow `transformers` (LlamaConfig defaults).
 */
export function configFromHf(raw: Record<string, unknown>): ModelConfig {
  const archs = Array.isArray(raw['architectures']) ? (raw['architectures'] as string[]) : [];
  const arch = archs.find((a) => a in SUPPORTED_ARCHITECTURES);
  const modelType = arch ? SUPPORTED_ARCHITECTURES[arch] : undefined;
  if (!modelType) {
    throw new Error(
      `Unsupported architecture ${JSON.stringify(archs.length ? archs : raw['model_type'])} in config.json; ` +
        `supported: ${Object.keys(SUPPORTED_ARCHITECTURES).join(', ')}`,
    );
  }
  const act = raw['hidden_act'] ?? 'silu';
  if (act !== 'silu')
    throw new Error(`config.json: hidden_act "${String(act)}" is not supported (only silu)`);
  for (const field of QUANTISATION_FIELDS) {
    if (raw[field] !== undefined && raw[field] !== null)
      throw new Error(
        `config.json: "${field}" is set: quantised weights are not supported (use float weights)`,
      );
  }
  const ropeScaling = ropeScalingFromHf(raw['rope_scaling']);
  const window = slidingWindow(raw, arch as string);
  const hidden = num(raw, 'hidden_size');
  const heads = num(raw, 'num_attention_heads');
  const kvHeads = num(raw, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0)
    throw new Error(
      `config.json: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
    );
  return {
    architectures: archs,
    model_type: modelType,
    vocab_size: num(raw, 'vocab_size'),
    hidden_size: hidden,
    intermediate_size: num(raw, 'intermediate_size'),
    num_hidden_layers: num(raw, 'num_hidden_layers'),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: typeof raw['head_dim'] === 'number' ? (raw['head_dim'] as number) : hidden / heads,
    rms_norm_eps: num(raw, 'rms_norm_eps', 1e-6),
    rope_theta: num(raw, 'rope_theta', 10000),
    max_position_embeddings: num(raw, 'max_position_embeddings', 2048),
    tie_word_embeddings: raw['tie_word_embeddings'] === true,
    attention_bias: modelType === 'qwen2' ? true : raw['attention_bias'] === true,
    qk_norm: modelType === 'qwen3',
    bos_token_id: typeof raw['bos_token_id'] === 'number' ? (raw['bos_token_id'] as number) : null,
    eos_token_id: (raw['eos_token_id'] as number | number[] | undefined) ?? null,
    pad_token_id: (raw['pad_token_id'] as number | undefined) ?? null,
    torch_dtype: typeof raw['torch_dtype'] === 'string' ? (raw['torch_dtype'] as string) : undefined,
    hidden_act: 'silu',
    tracetune_tokenizer:
      typeof raw['tracetune_tokenizer'] === 'string' ? (raw['tracetune_tokenizer'] as string) : undefined,
    ...(ropeScaling ? { rope_scaling: ropeScaling } : {}),
    ...(window ? { sliding_window: window } : {}),
  };
}

/** The `config.json` object to write (HF field names; Tracetune-only fields are ignored by `transformers`). */
export function configToHf(config: ModelConfig): Record<string, unknown> {
  const out: Record<string, unknown> = { ...config, torch_dtype: 'float32', transformers_version: '4.45.0' };
  delete out['qk_norm'];
  if (config.model_type === 'qwen2') delete out['attention_bias'];
  if (out['tracetune_tokenizer'] === undefined) delete out['tracetune_tokenizer'];
  if (config.rope_scaling)
    out['rope_scaling'] = { ...config.rope_scaling, type: config.rope_scaling.rope_type };
  return out;
}

/** Byte-tokenizer ids (see @tracetune/tokenizer BYTE_SPECIAL_TOKENS): <|bos|> 256, <|eos|> 257, <|im_end|> 260. */
const BYTE_VOCAB = 261;

/**
 * A Llama-layout model on the byte tokenizer (vocab 261, tied head, no biases, 2 KV heads, 2 layers, 32 wide unless
 * `shape` says otherwise): the built-in models and the tests' tiny ones. `head_dim` follows hidden_size /
 * num_attention_heads unless given.
 */
export function byteModelConfig(shape: Partial<ModelConfig> = {}): ModelConfig {
  const hidden = shape.hidden_size ?? 32;
  const heads = shape.num_attention_heads ?? 4;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: BYTE_VOCAB,
    hidden_size: hidden,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: heads,
    num_key_value_heads: 2,
    head_dim: hidden / heads,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    max_position_embeddings: 256,
    tie_word_embeddings: true,
    attention_bias: false,
    qk_norm: false,
    bos_token_id: 256,
    eos_token_id: [257, 260],
    pad_token_id: 258,
    hidden_act: 'silu',
    tracetune_tokenizer: 'byte',
    ...shape,
  };
}

function builtin(
  hidden: number,
  layers: number,
  heads: number,
  kvHeads: number,
  inter: number,
  ctx: number,
): ModelConfig {
  return byteModelConfig({
    hidden_size: hidden,
    intermediate_size: inter,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    max_position_embeddings: ctx,
  });
}

/**
 * Built-in architectures (Llama layout, tied head, GQA with 2 KV heads, byte tokenizer, vocab 261). Parameters:
 * per layer 2·C·C (q,o) + 2·C·(C·kv/h) (k,v) + 3·C·I (mlp) + 2·C (norms); plus V·C (tied embedding) + C (final norm).
 *  tt-nano:  C=96,  L=4,  h=4, I=256  → 4·(18432+9216+73728+192) + 25056 + 96     = 431,424  (≈0.4M)
 *  tt-micro: C=192, L=8,  h=6, I=512  → 8·(73728+24576+294912+384) + 50112 + 192  = 3,199,104 (≈3.2M)
 *  tt-mini:  C=384, L=12, h=6, I=1024 → 12·(294912+98304+1179648+768) + 100224 + 384 = 18,984,192 (≈19M)
 */
export const BUILTIN_CONFIGS: Record<string, ModelConfig> = {
  'tt-nano': builtin(96, 4, 4, 2, 256, 512),
  'tt-micro': builtin(192, 8, 6, 2, 512, 1024),
  'tt-mini': builtin(384, 12, 6, 2, 1024, 2048),
};

export function builtinConfig(name: string): ModelConfig {
  const c = BUILTIN_CONFIGS[name];
  if (!c)
    throw new Error(`Unknown built-in model "${name}"; known: ${Object.keys(BUILTIN_CONFIGS).join(', ')}`);
  return { ...c, architectures: [...c.architectures] };
}

/** LoRA adapter parameters: rank × (in + out) per adapted projection per layer. */
export function loraParameterCount(c: ModelConfig, rank: number, targets: readonly string[]): number {
  const C = c.hidden_size;
  const q = c.num_attention_heads * c.head_dim;
  const kv = c.num_key_value_heads * c.head_dim;
  const dims: Record<string, number> = {
    q_proj: C + q,
    k_proj: C + kv,
    v_proj: C + kv,
    o_proj: q + C,
    gate_proj: C + c.intermediate_size,
    up_proj: C + c.intermediate_size,
    down_proj: c.intermediate_size + C,
  };
  return c.num_hidden_layers * targets.reduce((n, t) => n + rank * (dims[t] ?? 0), 0);
}

/**
 * Least memory a training run holds for its parameters, in bytes (float32): the weights, plus for every trained
 * parameter its gradient and AdamW's two moments (16 bytes each). Activations come on top (they depend on the batch).
 */
export function trainingMemoryBytes(
  c: ModelConfig,
  lora: { rank: number; targets: readonly string[] } | null,
): number {
  const weights = parameterCount(c) * 4;
  const trained = lora ? loraParameterCount(c, lora.rank, lora.targets) : parameterCount(c);
  return weights + trained * (lora ? 16 : 12);
}

/** Number of parameters the config implies (embedding counted once when tied). */
export function parameterCount(c: ModelConfig): number {
  const C = c.hidden_size;
  const qDim = c.num_attention_heads * c.head_dim;
  const kvDim = c.num_key_value_heads * c.head_dim;
  const attn =
    C * qDim * 2 +
    C * kvDim * 2 +
    (c.attention_bias ? qDim + 2 * kvDim : 0) +
    (c.qk_norm ? 2 * c.head_dim : 0);
  const mlp = 3 * C * c.intermediate_size;
  const layer = attn + mlp + 2 * C;
  return c.num_hidden_layers * layer + c.vocab_size * C * (c.tie_word_embeddings ? 1 : 2) + C;
}
