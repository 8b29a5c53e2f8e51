/** The projections LoRA can adapt (HF/PEFT `target_modules` names). */
export const LORA_TARGETS = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/**
 * LoRA (Hu et al. 2021): W' = W + (α/r)·A·B with A [in, r], B [r, out] (our weights are stored [in, out]).
 * A starts random (U(±1/√in), PEFT's kaiming-uniform), B at zero, so an adapted model starts identical to its base.
 */
export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Dropout on the adapter input while training (PEFT `lora_dropout`). */
  dropout: number;
  targets: LoraTarget[];
}

export function validateLoraConfig(c: LoraConfig): LoraConfig {
  if (!Number.isInteger(c.rank) || c.rank < 1)
    throw new Error(`LoRA rank must be a positive integer (got ${c.rank})`);
  if (!(c.alpha > 0)) throw new Error(`LoRA alpha must be > 0 (got ${c.alpha})`);
  if (!(c.dropout >= 0 && c.dropout < 1))
    throw new Error(`LoRA dropout must be in [0, 1) (got ${c.dropout})`);
  if (c.targets.length === 0) throw new Error('LoRA needs at least one target projection');
  for (const t of c.targets) {
    if (!(LORA_TARGETS as readonly string[]).includes(t)) {
      throw new Error(`Unknown LoRA target "${t}"; known: ${LORA_TARGETS.join(', ')}`);
    }
  }
  return c;
}
