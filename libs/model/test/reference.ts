import type { ModelConfig } from '../src/config';
import type { TransformerModel } from '../src/model';

/**
 * RoPE inverse frequencies as transformers' `ROPE_INIT_FUNCTIONS` compute them (default, linear, llama3, yarn),
 * written from that source in its vectorised form, and the factor cos/sin are scaled by (yarn's attention factor).
 */
export function referenceRope(c: ModelConfig): { invFreq: number[]; scale: number } {
  const D = c.head_dim;
  const base = Array.from({ length: D / 2 }, (_, i) => Math.pow(c.rope_theta, (2 * i) / D));
  const plain = base.map((b) => 1 / b);
  const r = c.rope_scaling;
  if (!r) return { invFreq: plain, scale: 1 };
  if (r.rope_type === 'linear') return { invFreq: plain.map((f) => f / r.factor), scale: 1 };
  if (r.rope_type === 'llama3') {
    const old = r.original_max_position_embeddings as number;
    const [lowF, highF] = [r.low_freq_factor as number, r.high_freq_factor as number];
    const wavelen = plain.map((f) => (2 * Math.PI) / f);
    const scaled = plain.map((f, i) => (wavelen[i] > old / lowF ? f / r.factor : f));
    const smooth = wavelen.map((w) => (old / w - lowF) / (highF - lowF));
    const smoothed = scaled.map((f, i) => (1 - smooth[i]) * (f / r.factor) + smooth[i] * f);
    const medium = wavelen.map((w) => !(w < old / highF) && !(w > old / lowF));
    return { invFreq: scaled.map((f, i) => (medium[i] ? smoothed[i] : f)), scale: 1 };
  }
  const original = r.original_max_position_embeddings ?? c.max_position_embeddings;
  const dimOf = (rot: number) =>
    (D * Math.log(original / (rot * 2 * Math.PI))) / (2 * Math.log(c.rope_theta));
  const low = Math.max(Math.floor(dimOf(r.beta_fast ?? 32)), 0);
  const high = Math.min(Math.ceil(dimOf(r.beta_slow ?? 1)), D - 1);
  const ramp = base.map((_, i) => Math.min(Math.max((i - low) / (high === low ? 0.001 : high - low), 0), 1));
  const extrapolation = ramp.map((x) => 1 - x);
  const invFreq = base.map(
    (b, i) => (1 / (r.factor * b)) * (1 - extrapolation[i]) + (1 / b) * extrapolation[i],
  );
  return { invFreq, scale: r.attention_factor ?? (r.factor <= 1 ? 1 : 0.1 * Math.log(r.factor) + 1) };
}

/**
 * A deliberately plain float64 forward pass of one sequence, written from the HF modeling_llama / modeling_qwen2
 * source (not from our tfjs code): RMSNorm, q/k/v projections (+bias), (Qwen3 q/k head norms), RoPE with rotate_half on
 * cat(freqs, freqs), repeat_kv (head h uses KV head ⌊h/g⌋), causal softmax(q·kᵀ/√D)·v, o_proj, SwiGLU MLP.
 * Returns logits [T][V].
 */
export function referenceLogits(model: TransformerModel, tokens: number[]): number[][] {
  const c: ModelConfig = model.config;
  const W = (name: string): Float64Array => Float64Array.from(model.weight(name).dataSync());
  const has = (name: string): boolean => model.namedWeights().has(name);
  const C = c.hidden_size;
  const D = c.head_dim;
  const H = c.num_attention_heads;
  const Hkv = c.num_key_value_heads;
  // x·W with W stored [in, out] (our model layout) — equals HF's x·Wᵀ with W [out, in].
  const lin = (x: number[], w: Float64Array, out: number, bias?: Float64Array): number[] =>
    Array.from({ length: out }, (_, o) =>
      x.reduce((s, xi, i) => s + xi * w[i * out + o], bias ? bias[o] : 0),
    );
  const norm = (x: number[], w: Float64Array): number[] => {
    const r = 1 / Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length + c.rms_norm_eps);
    return x.map((v, i) => v * r * w[i]);
  };
  const { invFreq, scale } = referenceRope(c);
  const rope = (v: number[], pos: number): number[] =>
    v.map((_, i) => {
      const angle = pos * invFreq[i % (D / 2)];
      const rotated = i < D / 2 ? -v[i + D / 2] : v[i - D / 2];
      return (v[i] * Math.cos(angle) + rotated * Math.sin(angle)) * scale;
    });
  const emb = W('model.embed_tokens.weight');
  let xs = tokens.map((t) => Array.from(emb.subarray(t * C, (t + 1) * C)));
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const bias = (n: string): Float64Array | undefined =>
      has(`${p}.self_attn.${n}.bias`) ? W(`${p}.self_attn.${n}.bias`) : undefined;
    const hs = xs.map((x) => norm(x, W(`${p}.input_layernorm.weight`)));
    const head = (v: number[], h: number): number[] => v.slice(h * D, (h + 1) * D);
    // Qwen3: RMSNorm over each head of q and k (q_norm / k_norm) before RoPE.
    const headNorm = (v: number[], n: string): number[] =>
      c.qk_norm ? norm(v, W(`${p}.self_attn.${n}.weight`)) : v;
    const qs = hs.map((h, t) => {
      const q = lin(h, W(`${p}.self_attn.q_proj.weight`), H * D, bias('q_proj'));
      return Array.from({ length: H }, (_, hh) => rope(headNorm(head(q, hh), 'q_norm'), t));
    });
    const ks = hs.map((h, t) => {
      const k = lin(h, W(`${p}.self_attn.k_proj.weight`), Hkv * D, bias('k_proj'));
      return Array.from({ length: Hkv }, (_, hh) => rope(headNorm(head(k, hh), 'k_norm'), t));
    });
    const vs = hs.map((h) => {
      const v = lin(h, W(`${p}.self_attn.v_proj.weight`), Hkv * D, bias('v_proj'));
      return Array.from({ length: Hkv }, (_, hh) => head(v, hh));
    });
    const attn = qs.map((qh, t) =>
      qh.flatMap((q, h) => {
        const kv = Math.floor(h / (H / Hkv));
        const scores = Array.from(
          { length: t + 1 },
          (_, j) => q.reduce((s, qi, i) => s + qi * ks[j][kv][i], 0) / Math.sqrt(D),
        );
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        return Array.from({ length: D }, (_, i) => e.reduce((s, ej, j) => s + (ej / z) * vs[j][kv][i], 0));
      }),
    );
    xs = xs.map((x, t) => {
      const o = lin(attn[t], W(`${p}.self_attn.o_proj.weight`), C);
      const x1 = x.map((v, i) => v + o[i]);
      const h = norm(x1, W(`${p}.post_attention_layernorm.weight`));
      const gate = lin(h, W(`${p}.mlp.gate_proj.weight`), c.intermediate_size);
      const up = lin(h, W(`${p}.mlp.up_proj.weight`), c.intermediate_size);
      const act = gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]);
      const down = lin(act, W(`${p}.mlp.down_proj.weight`), C);
      return x1.map((v, i) => v + down[i]);
    });
  }
  const V = c.vocab_size;
  return xs.map((x) => {
    const h = norm(x, W('model.norm.weight'));
    if (c.tie_word_embeddings)
      return Array.from({ length: V }, (_, v) => h.reduce((s, hi, i) => s + hi * emb[v * C + i], 0));
    return lin(h, W('lm_head.weight'), V);
  });
}
