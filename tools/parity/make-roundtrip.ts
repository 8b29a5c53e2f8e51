/**
 * Writes tools/parity/roundtrip/: a base model, a full fine-tune of it and a LoRA run (merged weights + adapter/ in
 * PEFT layout), as Tracetune saves and downloads them in float32, with the logits Tracetune computes for each
 * (check_roundtrip.py compares them with transformers and peft). Deterministic (fixed seeds).
 *
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json tools/parity/make-roundtrip.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import {
  byteModelConfig,
  saveCheckpoint,
  savePeftAdapter,
  setupBackend,
  TransformerModel,
  writeSafetensors,
  type ModelConfig,
} from '@tracetune/model';
import { ByteTokenizer } from '@tracetune/tokenizer';

const OUT = join(__dirname, 'roundtrip');
const CONFIG: ModelConfig = byteModelConfig({
  max_position_embeddings: 128,
  tie_word_embeddings: false,
});
const IDS = [256, ...Buffer.from('Tracetune round trip: 12+7=19')];

function save(model: TransformerModel, name: string): void {
  const dir = join(OUT, name);
  saveCheckpoint(model, new ByteTokenizer(), dir);
  const logits = model.logits([IDS]);
  const data = logits.dataSync() as Float32Array;
  writeSafetensors(join(dir, 'tracetune_logits.safetensors'), [
    { name: 'logits', shape: [IDS.length, CONFIG.vocab_size], data: () => data },
  ]);
  logits.dispose();
}

/** Moves every variable by uniform noise, so the fine-tune (or the adapter) differs from the base. */
function perturb(variables: Iterable<tf.Variable>, seed: number, scale: number): void {
  let s = seed;
  for (const v of variables)
    tf.tidy(() => v.assign(tf.add(v, tf.randomUniform(v.shape, -scale, scale, 'float32', s++))));
}

async function main(): Promise<void> {
  await setupBackend('cpu', () => undefined);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const base = TransformerModel.random(CONFIG, 17);
  save(base, 'base');
  const full = TransformerModel.random(CONFIG, 17);
  perturb(full.namedWeights().values(), 100, 0.05);
  save(full, 'full');
  base.addLora({ rank: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'o_proj', 'down_proj'] }, 3);
  perturb(base.loraWeights().values(), 200, 0.3);
  save(base, 'lora'); // saveCheckpoint writes the adapters merged
  savePeftAdapter(base, join(OUT, 'lora', 'adapter'), 'base');
  writeFileSync(
    join(OUT, 'tracetune.json'),
    `${JSON.stringify({ input_ids: IDS, folders: ['base', 'full', 'lora'] }, null, 2)}\n`,
  );
  [base, full].forEach((m) => m.dispose());
  process.stdout.write(`wrote ${OUT}\n`);
}

void main();
