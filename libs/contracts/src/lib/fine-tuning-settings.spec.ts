import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

import {
  algorithmSchema,
  hyperparametersSchema,
  resolveAlgorithm,
  resolveHyperparameters,
  resolveLora,
  resolveMethod,
  RL_SETTING_FIELDS,
  rlSettings,
  SETTINGS_TABLES,
  settingsTable,
  storedMethodSchema,
  type ResolvedAlgorithm,
} from './fine-tuning-settings';

/** The cells of every row of the markdown tables in `text`, whitespace-normalised (prettier pads columns). */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim().replace(/\s+/g, ' ')),
    );
}

/** The block of `file` between `<!-- table: name -->` and `<!-- /table -->`. */
function generatedBlock(file: string, name: string): string {
  const text = readFileSync(join(__dirname, '../../../../', file), 'utf8');
  const match = new RegExp(`<!-- table: ${name.replace('.', '\\.')} -->([\\s\\S]*?)<!-- /table -->`).exec(
    text,
  );
  if (!match) throw new Error(`${file} has no table ${name}`);
  return match[1];
}

describe('fine-tuning settings', () => {
  it.each(Object.keys(SETTINGS_TABLES) as (keyof typeof SETTINGS_TABLES)[])(
    'should show the %s table in docs/fine-tuning.md exactly as the code defines it (npm run docs:tables)',
    (name) => {
      expect(tableRows(generatedBlock('docs/fine-tuning.md', `settings.${name}`))).toEqual(
        tableRows(settingsTable(name)),
      );
    },
  );

  it('should describe every request field from its table row (the OpenAPI descriptions)', () => {
    const json = z.toJSONSchema(algorithmSchema) as { properties: Record<string, { description: string }> };
    expect(json.properties['beta'].description).toBe(`${SETTINGS_TABLES.algorithm.beta.meaning} Default: 0.`);
    expect(json.properties['epsilon_high'].description).toMatch(/Default: = epsilon\.$/);
    const hyper = z.toJSONSchema(hyperparametersSchema) as {
      properties: Record<string, { description: string }>;
    };
    expect(hyper.properties['n_epochs'].description).toMatch(/auto: 1 \(RL\), 3 \(SFT, DPO\)\.$/);
  });

  it('should resolve "auto" hyperparameters from the method and the size of the training file', () => {
    expect(resolveHyperparameters('reinforcement', { batch_size: 'auto' }, 30)).toEqual({
      n_epochs: 1,
      batch_size: 4,
      learning_rate_multiplier: 1,
      eval_interval: 1,
      eval_samples: 4,
      compute_multiplier: 1,
      total_steps: 8,
    });
    const sft = resolveHyperparameters('supervised', undefined, 200);
    // 200 examples × 3 epochs / 8 = 75 steps; ten evaluations: every 7 steps.
    expect(sft).toMatchObject({ n_epochs: 3, batch_size: 8, total_steps: 75, eval_interval: 7 });
    // A batch larger than the file is lowered to it.
    expect(resolveHyperparameters('supervised', { batch_size: 64 }, 5)).toMatchObject({
      batch_size: 5,
      total_steps: 3,
    });
  });

  it('should resolve the algorithm with its rule-based defaults', () => {
    const lambda = resolveAlgorithm(undefined, 4);
    expect(lambda).toMatchObject({
      name: 'grpo_lambda',
      advantage_clamp_min: -0.1,
      beta: 0,
      micro_batch_size: 4,
    });
    expect(lambda.max_completion_tokens).toBe(128);
    expect(resolveAlgorithm({ name: 'grpo' }, 4).advantage_clamp_min).toBeNull();
    expect(resolveAlgorithm({ name: 'grpo', advantage_clamp_min: -0.2 }, 4).advantage_clamp_min).toBe(-0.2);
    expect(resolveAlgorithm({ epsilon: 0.3 }, 4)).toMatchObject({ epsilon: 0.3, epsilon_high: 0.3 });
    expect(resolveAlgorithm({ epsilon: 0.2, epsilon_high: 0.28 }, 4).epsilon_high).toBe(0.28);
    expect(resolveAlgorithm({ micro_batch_size: 16 }, 4).micro_batch_size).toBe(4);
    expect(resolveLora(undefined)).toBeNull();
    expect(resolveLora({ rank: 4 })).toEqual({
      rank: 4,
      alpha: 16,
      dropout: 0,
      target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
    });
  });

  it('should store what the worker reads back with the same schema', () => {
    const rl = resolveMethod(
      {
        type: 'reinforcement',
        reinforcement: { grader: { type: 'string_check' }, algorithm: { lambda: 0.9 }, lora: { rank: 2 } },
      },
      10,
    );
    expect(storedMethodSchema.parse(JSON.parse(JSON.stringify(rl)))).toEqual(rl);
    const sft = resolveMethod({ type: 'supervised' }, 10, { n_epochs: 2 });
    expect(storedMethodSchema.parse(sft)).toEqual(sft);
    expect(sft).toMatchObject({ supervised: { hyperparameters: { n_epochs: 2, total_steps: 3 } } });
    const stored = JSON.parse(JSON.stringify(rl)) as { reinforcement: { algorithm: { lambda: number } } };
    stored.reinforcement.algorithm.lambda = 2;
    const broken = stored;
    expect(storedMethodSchema.safeParse(broken).success).toBe(false);
  });

  it('should read a job stored before the later algorithm rows with the behaviour it had', () => {
    const rl = resolveMethod(
      { type: 'reinforcement', reinforcement: { grader: { type: 'string_check' } } },
      4,
    );
    const old = JSON.parse(JSON.stringify(rl)) as { reinforcement: { algorithm: Record<string, unknown> } };
    for (const key of [
      'std_mode',
      'skip_zero_std_groups',
      'trace_floor',
      'normalize_trace_weights',
      'max_grad_norm',
    ])
      delete old.reinforcement.algorithm[key];
    expect(storedMethodSchema.parse(old)).toEqual(rl);
    expect(rl).toMatchObject({
      reinforcement: {
        algorithm: {
          std_mode: 'sample',
          skip_zero_std_groups: false,
          trace_floor: 0,
          normalize_trace_weights: false,
          max_grad_norm: 1,
        },
      },
    });
  });

  it('should map every rl-core key a job sets from the algorithm field it names', () => {
    const base = resolveAlgorithm(undefined, 4);
    const changed: Partial<ResolvedAlgorithm> = {
      name: 'grpo',
      num_generations: 5,
      gamma: 0.9,
      lambda: 0.5,
      trace_style: 'recent',
      variant: 'eps_weight',
      advantage_clamp_min: -0.3,
      beta: 0.1,
      epsilon: 0.1,
      epsilon_high: 0.15,
      loss_aggregation: 'token-mean',
      scale_rewards: 'none',
      max_completion_tokens: 64,
      std_mode: 'population',
      skip_zero_std_groups: true,
      trace_floor: 0.2,
      normalize_trace_weights: true,
    };
    for (const [key, field] of Object.entries(RL_SETTING_FIELDS)) {
      const before = rlSettings(base, { compute_multiplier: 1 });
      const after = rlSettings({ ...base, [field]: changed[field] }, { compute_multiplier: 1 });
      expect([key, after[key as keyof typeof after]]).not.toEqual([key, before[key as keyof typeof before]]);
    }
    expect(rlSettings(base, { compute_multiplier: 1.5 }).groupSize).toBe(12);
    expect(rlSettings({ ...base, num_generations: 2 }, { compute_multiplier: 0.1 }).groupSize).toBe(2);
  });
});
