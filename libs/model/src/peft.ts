import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import type { LoraConfig } from './lora';
import type { TransformerModel } from './model';
import { SafetensorsFile, writeSafetensors } from './safetensors';
import { transpose2d } from './weights';

/** The files of a PEFT LoRA adapter folder (what `PeftModel.from_pretrained(base, dir)` reads). */
export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';

/**
 * Our adapter name (`model.layers.0.self_attn.q_proj.weight.lora_A`, A [in, r]) → PEFT's
 * (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, [r, in]; B likewise [out, r]).
 */
export function peftTensorName(name: string): string {
  const match = /^(.*)\.weight\.(lora_[AB])$/.exec(name);
  if (!match) throw new Error(`not a LoRA adapter name: ${name}`);
  return `base_model.model.${match[1]}.${match[2]}.weight`;
}

/** PEFT's `adapter_config.json` for our LoRA settings. */
export function peftAdapterConfig(lora: LoraConfig, baseModel: string): Record<string, unknown> {
  return {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: baseModel,
    r: lora.rank,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: [...lora.targets],
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    use_rslora: false,
    use_dora: false,
    modules_to_save: null,
    layers_to_transform: null,
    layers_pattern: null,
    rank_pattern: {},
    alpha_pattern: {},
    revision: null,
  };
}

/**
 * Writes the model's LoRA adapters as a PEFT folder (`adapter_config.json`, `adapter_model.safetensors` in F32 with
 * PEFT's tensor names and [out, in] layout). Transposes are exact, so reading it back restores the same values.
 */
export function savePeftAdapter(model: TransformerModel, dir: string, baseModel: string): void {
  const lora = model.loraConfig();
  if (!lora) throw new Error('This model has no LoRA adapters to save');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, PEFT_CONFIG_FILE), JSON.stringify(peftAdapterConfig(lora, baseModel), null, 2));
  const tensors = [...model.loraWeights()].map(([name, v]) => {
    const [rows, cols] = v.shape;
    return {
      name: peftTensorName(name),
      shape: [cols, rows],
      data: () => transpose2d(v.dataSync() as Float32Array, rows, cols),
    };
  });
  writeSafetensors(join(dir, PEFT_WEIGHTS_FILE), tensors);
}

/** Loads a PEFT adapter folder written by `savePeftAdapter` into the model's (same-shaped) LoRA adapters. */
export function loadPeftAdapter(model: TransformerModel, dir: string): void {
  const path = join(dir, PEFT_WEIGHTS_FILE);
  if (!existsSync(path)) throw new Error(`${dir} has no ${PEFT_WEIGHTS_FILE}`);
  const config = JSON.parse(readFileSync(join(dir, PEFT_CONFIG_FILE), 'utf8')) as { r?: number };
  const lora = model.loraConfig();
  if (!lora || config.r !== lora.rank)
    throw new Error(`${dir}: adapter rank ${String(config.r)} does not match the run's (${lora?.rank})`);
  const file = new SafetensorsFile(path);
  try {
    for (const [name, v] of model.loraWeights()) {
      const peftName = peftTensorName(name);
      if (!file.tensors.has(peftName))
        throw new Error(`${path} has no adapter "${peftName}" (LoRA settings changed?)`);
      const { data, shape } = file.read(peftName);
      const [rows, cols] = v.shape;
      if (shape[0] !== cols || shape[1] !== rows)
        throw new Error(`${path}: "${peftName}" has shape ${shape.join('×')}, expected ${cols}×${rows}`);
      tf.tidy(() => v.assign(tf.tensor(transpose2d(data, cols, rows), v.shape)));
    }
  } finally {
    file.close();
  }
}
