import type { ModelConfig } from './config';

/** One tensor of the HF layout: its name and its shape as HF stores it (Linear weights [out, in]). */
export interface TensorSpec {
  name: string;
  shape: number[];
  /** HF nn.Linear weight: stored [out, in] in files, [in, out] in the model (so matmuls need no transpose). */
  linear: boolean;
  init: 'normal' | 'ones' | 'zeros';
}

/** Every tensor an HF Llama/Qwen2/Qwen3 checkpoint of this config holds, in file order. */
export function tensorSpecs(c: ModelConfig): TensorSpec[] {
  const C = c.hidden_size;
  const qDim = c.num_attention_heads * c.head_dim;
  const kvDim = c.num_key_value_heads * c.head_dim;
  const I = c.intermediate_size;
  const specs: TensorSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [c.vocab_size, C], linear: false, init: 'normal' },
  ];
  const lin = (name: string, out: number, inp: number): TensorSpec => ({
    name,
    shape: [out, inp],
    linear: true,
    init: 'normal',
  });
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    specs.push({ name: `${p}.input_layernorm.weight`, shape: [C], linear: false, init: 'ones' });
    specs.push(lin(`${p}.self_attn.q_proj.weight`, qDim, C));
    specs.push(lin(`${p}.self_attn.k_proj.weight`, kvDim, C));
    specs.push(lin(`${p}.self_attn.v_proj.weight`, kvDim, C));
    if (c.attention_bias) {
      specs.push({ name: `${p}.self_attn.q_proj.bias`, shape: [qDim], linear: false, init: 'zeros' });
      specs.push({ name: `${p}.self_attn.k_proj.bias`, shape: [kvDim], linear: false, init: 'zeros' });
      specs.push({ name: `${p}.self_attn.v_proj.bias`, shape: [kvDim], linear: false, init: 'zeros' });
    }
    if (c.qk_norm) {
      specs.push({ name: `${p}.self_attn.q_norm.weight`, shape: [c.head_dim], linear: false, init: 'ones' });
      specs.push({ name: `${p}.self_attn.k_norm.weight`, shape: [c.head_dim], linear: false, init: 'ones' });
    }
    specs.push(lin(`${p}.self_attn.o_proj.weight`, C, qDim));
    specs.push({ name: `${p}.post_attention_layernorm.weight`, shape: [C], linear: false, init: 'ones' });
    specs.push(lin(`${p}.mlp.gate_proj.weight`, I, C));
    specs.push(lin(`${p}.mlp.up_proj.weight`, I, C));
    specs.push(lin(`${p}.mlp.down_proj.weight`, C, I));
  }
  specs.push({ name: 'model.norm.weight', shape: [C], linear: false, init: 'ones' });
  if (!c.tie_word_embeddings) specs.push(lin('lm_head.weight', c.vocab_size, C));
  return specs;
}

/** Shape of a tensor inside the model: Linear weights transposed to [in, out]. */
export function modelShape(spec: TensorSpec): number[] {
  return spec.linear ? [spec.shape[1], spec.shape[0]] : spec.shape;
}

/** Transposes a row-major [rows, cols] matrix into a new [cols, rows] array. */
export function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = data[base + c];
  }
  return out;
}
