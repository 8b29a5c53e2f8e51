import { z } from 'zod';

/**
 * A fine-tuning job's training settings, owned here and nowhere else: what each setting accepts, its default and
 * what it means (the three tables below), the request schemas built from them, the rules that resolve "auto" and
 * defaults, and the resolved form stored on the job. The api validates a request with `methodSchema`, resolves it
 * once ({@link resolveMethod}) and stores the result; the worker reads it back with {@link storedMethodSchema}; the
 * trainer, the CLI and the benchmarks resolve through the same functions. The schema descriptions (OpenAPI) and the
 * tables of docs/fine-tuning.md are rendered from the tables ({@link settingsTable}); a spec holds the docs to them.
 */

/** One row of a settings table. */
export interface Setting<S extends z.ZodType, C> {
  /** The values a request may give (and a stored job holds). */
  schema: S;
  /** The value used when the request gives none (or "auto"): a constant, or a rule over the rest of the settings. */
  default: z.output<S> | ((context: C) => z.output<S>);
  /** How the docs state the default; rendered from a constant default when absent. */
  defaultText?: string;
  meaning: string;
  /**
   * Set on rows added after jobs were first stored: a stored job without the key reads it as this constant (the
   * behaviour such jobs had), so that old rows still parse.
   */
  storedDefault?: z.output<S>;
}

type Table<C> = Record<string, Setting<z.ZodType, C>>;
type Shape<T extends Table<never>> = { [K in keyof T]: T[K]['schema'] };
type Resolved<T extends Table<never>> = { [K in keyof T]: z.output<T[K]['schema']> };

function setting<S extends z.ZodType, C = unknown>(
  schema: S,
  defaultValue: Setting<S, C>['default'],
  meaning: string,
  defaultText?: string,
): Setting<S, C> {
  return { schema, default: defaultValue, meaning, defaultText };
}

/** A row added after jobs were first stored: missing from a stored job, it reads as its constant default. */
function addedLater<S extends z.ZodType, C>(row: Setting<S, C>): Setting<S, C> {
  if (typeof row.default === 'function') throw new Error('addedLater: needs a constant default');
  return { ...row, storedDefault: row.default };
}

// ------------------------------------------------------------------------------------------------ the tables

export type FineTuningMethodType = 'supervised' | 'reinforcement' | 'dpo';

/** What "auto" hyperparameters depend on: the method, the training file's size and the run's length. */
export interface HyperparameterContext {
  method: FineTuningMethodType;
  /** Examples in the training file. */
  examples: number;
  /** ⌈examples × n_epochs / batch_size⌉, known once those two are resolved. */
  totalSteps: number;
}

const byMethod = (rl: number, sft: number) => (c: HyperparameterContext) =>
  c.method === 'reinforcement' ? rl : sft;

/** OpenAI's hyperparameters (each a number or "auto"), as Tracetune resolves them. */
export const HYPERPARAMETER_SETTINGS = {
  n_epochs: setting(
    z.number().int().min(1).max(50),
    byMethod(1, 3),
    'Passes over the training file.',
    '1 (RL), 3 (SFT, DPO)',
  ),
  batch_size: setting(
    z.number().int().min(1).max(256),
    byMethod(4, 8),
    'Prompts (RL), examples (SFT) or preference pairs (DPO) per optimisation step; a value above the number of examples is lowered to it.',
    'min(4, examples) (RL), min(8, examples) (SFT, DPO)',
  ),
  learning_rate_multiplier: setting(
    z.number().positive().max(100),
    1,
    "Multiplies the trainer's base learning rate (docs/trainer.md).",
  ),
  eval_interval: setting(
    z.number().int().min(1).max(100_000),
    (c: HyperparameterContext) => Math.min(100_000, Math.max(1, Math.floor(c.totalSteps / 10))),
    'Steps between evaluations on the validation file (and always at the last step).',
    'about ten evaluations per run: `max(1, ⌊total_steps / 10⌋)`',
  ),
  eval_samples: setting(
    z.number().int().min(1).max(64),
    4,
    'Samples per validation prompt (sampled accuracy, pass@k).',
  ),
  compute_multiplier: setting(
    z.number().positive().max(16),
    1,
    'Scales the completions sampled per prompt: G = `max(2, round(num_generations × compute_multiplier))`.',
  ),
} satisfies Table<HyperparameterContext>;

export const ALGORITHM_NAMES = ['grpo_lambda', 'grpo'] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/** What the rule-based algorithm defaults depend on. */
export interface AlgorithmContext {
  name: AlgorithmName;
  epsilon: number;
  /** The job's resolved batch_size. */
  batchSize: number;
}

/**
 * Tracetune's `method.reinforcement.algorithm` extension. GRPO-λ's own values are the paper's (λ = 0.99, clamp −0.1,
 * `both` traces, ε-trace); the rest follow common GRPO practice, except where a comment says otherwise.
 */
export const ALGORITHM_SETTINGS = {
  name: setting(z.enum(ALGORITHM_NAMES), 'grpo_lambda', 'The advantage estimator: GRPO-λ or plain GRPO.'),
  lambda: setting(z.number().min(0).max(1), 0.99, 'Trace decay λ (docs/algorithm.md).'),
  gamma: setting(z.number().min(0).max(1), 1, 'Discount γ; the trace decays by γ·λ per token.'),
  trace_style: setting(
    z.enum(['recent', 'both']),
    'both',
    'Eligibility trace style: `recent` (classic) or `both` (also keeps weight on the first tokens).',
  ),
  variant: setting(
    z.enum(['eps_trace', 'eps_weight']),
    'eps_trace',
    'Where the trace enters the clipped objective.',
  ),
  advantage_clamp_min: setting(
    z.number().max(0).nullable(),
    (c: AlgorithmContext) => (c.name === 'grpo' ? null : -0.1),
    'Lower clamp of advantages; null disables it.',
    '−0.1 (`grpo_lambda`), null (`grpo`)',
  ),
  num_generations: setting(
    z.number().int().min(2).max(64),
    8,
    'Completions sampled per prompt (the group size G).',
  ),
  // 0, not GRPO's early 0.04: with verifiable rewards the KL term buys little (DAPO and Dr. GRPO drop it, TRL's
  // default is 0), while β > 0 holds a second copy of the model and runs it on every batch.
  beta: setting(
    z.number().min(0).max(10),
    0,
    'KL coefficient to the base model; 0 keeps no reference model in memory (0.04 was early GRPO practice).',
  ),
  epsilon: setting(z.number().gt(0).lt(1), 0.2, 'PPO clip range ε.'),
  epsilon_high: setting(
    z.number().gt(0).lt(10),
    (c: AlgorithmContext) => c.epsilon,
    'Upper clip range (DAPO clip-higher); at least epsilon.',
    '= `epsilon`',
  ),
  loss_aggregation: setting(
    z.enum(['seq-mean-token-mean', 'token-mean', 'seq-mean-token-sum-norm']),
    'seq-mean-token-mean',
    'How token terms become the loss: GRPO, DAPO or Dr. GRPO.',
  ),
  scale_rewards: setting(
    z.enum(['group', 'batch', 'none']),
    'group',
    'Which standard deviation divides centred rewards (`none`: Dr. GRPO).',
  ),
  // 128, not the paper's 256: the built-in models are byte-level (a token is a byte) and sample on CPU cores, where
  // cost is linear in this; `completions/clipped_ratio` says when to raise it (imported BPE models usually should).
  max_completion_tokens: setting(
    z.number().int().min(1).max(8192),
    128,
    'Longest sampled completion, in tokens.',
  ),
  temperature: setting(z.number().gt(0).max(2), 1, 'Sampling temperature of the rollouts.'),
  top_p: setting(z.number().gt(0).max(1), 1, 'Nucleus sampling mass of the rollouts.'),
  ppo_epochs: setting(z.number().int().min(1).max(16), 1, 'Optimisation passes over each sampled batch (μ).'),
  micro_batch_size: setting(
    z.number().int().min(1).max(256),
    (c: AlgorithmContext) => c.batchSize,
    'Prompts per micro-batch (gradient accumulation; whole groups stay together); at most `batch_size`.',
    '= `batch_size`',
  ),
  std_mode: addedLater(
    setting(
      z.enum(['sample', 'population']),
      'sample',
      "Which standard deviation scales a group's centred rewards: the sample (n − 1, TRL) or the population (n) one.",
    ),
  ),
  skip_zero_std_groups: addedLater(
    setting(
      z.boolean(),
      false,
      'Leave groups whose rewards are all equal out of the loss (DAPO dynamic sampling, without resampling).',
    ),
  ),
  trace_floor: addedLater(
    setting(
      z.number().min(0).max(1),
      0,
      'Lower bound of GRPO-λ trace weights (0: none); keeps some credit on tokens the trace would starve.',
    ),
  ),
  normalize_trace_weights: addedLater(
    setting(
      z.boolean(),
      false,
      'Divide GRPO-λ trace weights by their mean over each completion, so the trace moves credit between tokens without scaling the gradient.',
    ),
  ),
  max_grad_norm: addedLater(
    setting(
      z.number().positive().max(1e6),
      1,
      'Global gradient-norm clip of each update (TRL default 1); `optimizer/grad_norm` is logged before clipping.',
    ),
  ),
} satisfies Table<AlgorithmContext>;

export const LORA_TARGET_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

/**
 * OpenAI's `method.dpo.hyperparameters` beyond the common ones. The loss is TRL DPOTrainer's default (sigmoid):
 * −log σ(β·((log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l)))), the reference being the base model.
 */
export const DPO_SETTINGS = {
  beta: setting(
    z.number().gt(0).max(2),
    0.1,
    'Strength of the KL constraint to the reference model (TRL default 0.1): higher keeps the policy closer to it.',
  ),
} satisfies Table<unknown>;

/** Tracetune's `method.reinforcement.lora` extension; an absent `lora` means full fine-tuning. */
export const LORA_SETTINGS = {
  rank: setting(z.number().int().min(1).max(256), 8, 'Adapter rank.'),
  alpha: setting(z.number().positive().max(1024), 16, 'Scaling α: the update is multiplied by α / rank.'),
  dropout: setting(z.number().min(0).lt(1), 0, 'Dropout on the adapter input.'),
  target_modules: setting(
    z.array(z.enum(LORA_TARGET_MODULES)).min(1),
    () => [...LORA_TARGET_MODULES],
    'Projections that get adapters.',
    'all seven',
  ),
} satisfies Table<unknown>;

// ------------------------------------------------------------------------------------------------ schemas

function shapeOf<T extends Table<never>>(table: T): Shape<T> {
  return Object.fromEntries(Object.entries(table).map(([key, s]) => [key, s.schema])) as Shape<T>;
}

/** The stored form's shape: rows added later default to the value jobs stored before them behaved with. */
function storedShapeOf<T extends Table<never>>(table: T): Shape<T> {
  const fields = Object.entries(table).map(([key, s]) => [
    key,
    s.storedDefault === undefined ? s.schema : s.schema.default(s.storedDefault),
  ]);
  return Object.fromEntries(fields) as Shape<T>;
}

/** The docs' statement of a default. */
export function defaultText(s: Setting<z.ZodType, never>): string {
  if (s.defaultText !== undefined) return s.defaultText;
  return typeof s.default === 'string' ? `\`${s.default}\`` : JSON.stringify(s.default);
}

type OptionalShape<T extends Table<never>> = { [K in keyof T]: z.ZodOptional<T[K]['schema']> };
type AutoShape<T extends Table<never>> = {
  [K in keyof T]: z.ZodOptional<z.ZodUnion<[z.ZodLiteral<'auto'>, T[K]['schema']]>>;
};

/** Every field optional and described from its row; with `auto`, each also accepts "auto" (OpenAI's hyperparameters). */
function requestShape<T extends Table<never>>(table: T, auto: true): AutoShape<T>;
function requestShape<T extends Table<never>>(table: T, auto: false): OptionalShape<T>;
function requestShape<T extends Table<never>>(table: T, auto: boolean): AutoShape<T> | OptionalShape<T> {
  const fields = Object.entries(table).map(([key, s]) => {
    const accepted = auto ? z.union([z.literal('auto'), s.schema]) : s.schema;
    const described = `${s.meaning} ${auto ? 'auto' : 'Default'}: ${defaultText(s).replace(/`/g, '')}.`;
    return [key, accepted.optional().describe(described)] as const;
  });
  return Object.fromEntries(fields) as AutoShape<T> | OptionalShape<T>;
}

export const hyperparametersSchema = z
  .object({
    ...requestShape(HYPERPARAMETER_SETTINGS, true),
    reasoning_effort: z
      .enum(['default', 'low', 'medium', 'high'])
      .optional()
      .describe('Accepted for compatibility; ignored.'),
  })
  .strict();
export type HyperparametersInput = z.infer<typeof hyperparametersSchema>;

export const dpoHyperparametersSchema = z
  .object({
    ...requestShape(HYPERPARAMETER_SETTINGS, true),
    ...requestShape(DPO_SETTINGS, true),
  })
  .strict();
export type DpoHyperparametersInput = z.infer<typeof dpoHyperparametersSchema>;

export const algorithmSchema = z.object(requestShape(ALGORITHM_SETTINGS, false)).strict();
export type AlgorithmInput = z.infer<typeof algorithmSchema>;

export const loraSchema = z.object(requestShape(LORA_SETTINGS, false)).strict();
export type LoraInput = z.infer<typeof loraSchema>;

/** `method` of POST /v1/fine_tuning/jobs, as OpenAI defines it plus Tracetune's `algorithm` and `lora`. */
export const methodSchema = z
  .object({
    type: z.enum(['supervised', 'reinforcement', 'dpo']),
    supervised: z.object({ hyperparameters: hyperparametersSchema.optional() }).strict().optional(),
    reinforcement: z
      .object({
        grader: z.record(z.string(), z.unknown()).describe('An OpenAI grader (or math_answer / javascript).'),
        hyperparameters: hyperparametersSchema.optional(),
        algorithm: algorithmSchema.optional().describe('Tracetune extension: the RL algorithm.'),
        lora: loraSchema
          .nullable()
          .optional()
          .describe('Tracetune extension: LoRA adapters (absent: full fine-tuning).'),
      })
      .strict()
      .optional(),
    dpo: z
      .object({ hyperparameters: dpoHyperparametersSchema.optional() })
      .strict()
      .optional()
      .describe(
        'Direct preference optimisation on preference pairs (input, preferred_output, non_preferred_output).',
      ),
  })
  .strict();
export type MethodInput = z.infer<typeof methodSchema>;

// ------------------------------------------------------------------------------------------------ stored form

/**
 * The resolved settings, as stored on the job and read back by the worker. Every field is present and in the range
 * its table row accepts. Reading is lenient about keys it does not know (a newer api may store more); a setting
 * added later must come with a stored default here, so that jobs stored before it still parse.
 */
export const resolvedHyperparametersSchema = z.object(shapeOf(HYPERPARAMETER_SETTINGS));
export type ResolvedHyperparameters = z.infer<typeof resolvedHyperparametersSchema>;

/** Resolved hyperparameters plus the run length they imply (the job's `progress.total_steps`). */
export const storedHyperparametersSchema = resolvedHyperparametersSchema.extend({
  total_steps: z.number().int().min(1),
});
export type StoredHyperparameters = z.infer<typeof storedHyperparametersSchema>;

/** DPO's stored hyperparameters: the common ones and `beta`. */
export const storedDpoHyperparametersSchema = storedHyperparametersSchema.extend(shapeOf(DPO_SETTINGS));
export type StoredDpoHyperparameters = z.infer<typeof storedDpoHyperparametersSchema>;

export const resolvedAlgorithmSchema = z.object(storedShapeOf(ALGORITHM_SETTINGS));
export type ResolvedAlgorithm = z.infer<typeof resolvedAlgorithmSchema>;

export const resolvedLoraSchema = z.object(shapeOf(LORA_SETTINGS));
export type ResolvedLora = z.infer<typeof resolvedLoraSchema>;

export const storedMethodSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('supervised'),
    supervised: z.object({ hyperparameters: storedHyperparametersSchema }),
  }),
  z.object({
    type: z.literal('reinforcement'),
    reinforcement: z.object({
      grader: z.record(z.string(), z.unknown()),
      hyperparameters: storedHyperparametersSchema,
      algorithm: resolvedAlgorithmSchema,
      lora: resolvedLoraSchema.nullable(),
    }),
  }),
  z.object({
    type: z.literal('dpo'),
    dpo: z.object({ hyperparameters: storedDpoHyperparametersSchema }),
  }),
]);
export type StoredMethod = z.infer<typeof storedMethodSchema>;

// ------------------------------------------------------------------------------------------------ resolution

/** The value of a table's row: the given one, else its default (a rule sees `context`). */
function valueOf<S extends z.ZodType, C>(
  s: Setting<S, C>,
  given: z.output<S> | undefined,
  context: C,
): z.output<S> {
  if (given !== undefined) return given;
  return typeof s.default === 'function' ? (s.default as (c: C) => z.output<S>)(context) : s.default;
}

/** Every row of `table` resolved from `given` (undefined keys take their defaults). */
function resolveTable<T extends Table<C>, C>(table: T, given: Partial<Resolved<T>>, context: C): Resolved<T> {
  const out = Object.fromEntries(
    Object.entries(table).map(([key, s]) => [key, valueOf(s, given[key as keyof T], context)]),
  );
  return out as Resolved<T>;
}

/** `input` without its undefined and "auto" values. */
function given<T extends object>(
  input: T | null | undefined,
): Partial<{ [K in keyof T]: Exclude<T[K], 'auto'> }> {
  return Object.fromEntries(
    Object.entries(input ?? {}).filter(([, value]) => value !== undefined && value !== 'auto'),
  ) as Partial<{ [K in keyof T]: Exclude<T[K], 'auto'> }>;
}

/** OpenAI's hyperparameters with every "auto" resolved, for a training file of `examples` examples. */
export function resolveHyperparameters(
  method: FineTuningMethodType,
  input: HyperparametersInput | Partial<ResolvedHyperparameters> | null | undefined,
  examples: number,
): StoredHyperparameters {
  const { reasoning_effort: _ignored, ...values } = given(input as HyperparametersInput);
  const t = HYPERPARAMETER_SETTINGS;
  const early: HyperparameterContext = { method, examples, totalSteps: 0 };
  const n_epochs = valueOf(t.n_epochs, values.n_epochs, early);
  const batch_size = Math.min(valueOf(t.batch_size, values.batch_size, early), Math.max(1, examples));
  const totalSteps = Math.max(1, Math.ceil((examples * n_epochs) / batch_size));
  const resolved = resolveTable(t, { ...values, n_epochs, batch_size }, { ...early, totalSteps });
  return { ...resolved, total_steps: totalSteps };
}

/** The algorithm with every default resolved; `micro_batch_size` is at most the batch. */
export function resolveAlgorithm(
  input: AlgorithmInput | Partial<ResolvedAlgorithm> | null | undefined,
  batchSize: number,
): ResolvedAlgorithm {
  const values = given(input as AlgorithmInput);
  const t = ALGORITHM_SETTINGS;
  // The rules below depend on these two, whose defaults are constants.
  const name = values.name ?? (t.name.default as AlgorithmName);
  const epsilon = values.epsilon ?? (t.epsilon.default as number);
  const resolved = resolveTable(t, values, { name, epsilon, batchSize });
  return { ...resolved, micro_batch_size: Math.min(resolved.micro_batch_size, batchSize) };
}

/** Absent (or null) `lora` is full fine-tuning; given fields override the defaults. */
export function resolveLora(
  input: LoraInput | Partial<ResolvedLora> | null | undefined,
): ResolvedLora | null {
  if (!input) return null;
  return resolveTable(LORA_SETTINGS, given(input as LoraInput), undefined);
}

/** The request's `method` (or the legacy top-level `hyperparameters` of a supervised job), resolved for storage. */
export function resolveMethod(
  method: {
    type: FineTuningMethodType;
    supervised?: { hyperparameters?: HyperparametersInput } | null;
    reinforcement?: {
      grader: Record<string, unknown>;
      hyperparameters?: HyperparametersInput;
      algorithm?: AlgorithmInput;
      lora?: LoraInput | null;
    } | null;
    dpo?: { hyperparameters?: DpoHyperparametersInput } | null;
  },
  examples: number,
  legacyHyperparameters?: HyperparametersInput,
): StoredMethod {
  if (method.type === 'supervised') {
    const input = method.supervised?.hyperparameters ?? legacyHyperparameters;
    return {
      type: 'supervised',
      supervised: { hyperparameters: resolveHyperparameters('supervised', input, examples) },
    };
  }
  if (method.type === 'dpo') {
    const input: DpoHyperparametersInput = method.dpo?.hyperparameters ?? legacyHyperparameters ?? {};
    const { beta, ...common } = input;
    const hyperparameters = resolveHyperparameters('dpo', common, examples);
    const dpo = resolveTable(DPO_SETTINGS, given({ beta }), undefined);
    return { type: 'dpo', dpo: { hyperparameters: { ...hyperparameters, ...dpo } } };
  }
  const rl = method.reinforcement;
  if (!rl) throw new Error('resolveMethod: a reinforcement method needs `reinforcement`');
  const hyperparameters = resolveHyperparameters(
    'reinforcement',
    rl.hyperparameters ?? legacyHyperparameters,
    examples,
  );
  return {
    type: 'reinforcement',
    reinforcement: {
      grader: rl.grader,
      hyperparameters,
      algorithm: resolveAlgorithm(rl.algorithm, hyperparameters.batch_size),
      lora: resolveLora(rl.lora),
    },
  };
}

/** Stored hyperparameters of either method. */
export function storedHyperparameters(method: StoredMethod): StoredHyperparameters {
  if (method.type === 'reinforcement') return method.reinforcement.hyperparameters;
  return method.type === 'dpo' ? method.dpo.hyperparameters : method.supervised.hyperparameters;
}

// ------------------------------------------------------------------------------------------------ rl-core's view

/** Completions sampled per prompt (G): `num_generations` scaled by `compute_multiplier`, never below 2. */
export function groupSize(
  algorithm: Pick<ResolvedAlgorithm, 'num_generations'>,
  hyperparameters: Pick<ResolvedHyperparameters, 'compute_multiplier'>,
): number {
  return Math.max(2, Math.round(algorithm.num_generations * hyperparameters.compute_multiplier));
}

/**
 * The rl-core config keys a job sets, in rl-core's names (rl-core's preset fills the keys no job sets). The api
 * validates these with rl-core at the edge and the trainer builds its loss config from them, so both see one config.
 */
export interface RlSettings {
  estimator: AlgorithmName;
  groupSize: number;
  gamma: number;
  lambda: number;
  traceStyle: ResolvedAlgorithm['trace_style'];
  variant: ResolvedAlgorithm['variant'];
  advantageClampMin: number | null;
  beta: number;
  epsilon: number;
  epsilonHigh: number;
  lossAggregation: ResolvedAlgorithm['loss_aggregation'];
  scaleRewards: ResolvedAlgorithm['scale_rewards'];
  maxCompletionLength: number;
  stdMode: ResolvedAlgorithm['std_mode'];
  skipZeroStdGroups: boolean;
  traceFloor: number;
  normalizeTraceWeights: boolean;
}

/** The algorithm field each rl-core key comes from: a problem rl-core finds in a key is reported on this field. */
export const RL_SETTING_FIELDS: Readonly<Record<keyof RlSettings, keyof ResolvedAlgorithm>> = {
  estimator: 'name',
  groupSize: 'num_generations',
  gamma: 'gamma',
  lambda: 'lambda',
  traceStyle: 'trace_style',
  variant: 'variant',
  advantageClampMin: 'advantage_clamp_min',
  beta: 'beta',
  epsilon: 'epsilon',
  epsilonHigh: 'epsilon_high',
  lossAggregation: 'loss_aggregation',
  scaleRewards: 'scale_rewards',
  maxCompletionLength: 'max_completion_tokens',
  stdMode: 'std_mode',
  skipZeroStdGroups: 'skip_zero_std_groups',
  traceFloor: 'trace_floor',
  normalizeTraceWeights: 'normalize_trace_weights',
};

export function rlSettings(
  algorithm: ResolvedAlgorithm,
  hyperparameters: Pick<ResolvedHyperparameters, 'compute_multiplier'>,
): RlSettings {
  return {
    estimator: algorithm.name,
    groupSize: groupSize(algorithm, hyperparameters),
    gamma: algorithm.gamma,
    lambda: algorithm.lambda,
    traceStyle: algorithm.trace_style,
    variant: algorithm.variant,
    advantageClampMin: algorithm.advantage_clamp_min,
    beta: algorithm.beta,
    epsilon: algorithm.epsilon,
    epsilonHigh: algorithm.epsilon_high,
    lossAggregation: algorithm.loss_aggregation,
    scaleRewards: algorithm.scale_rewards,
    maxCompletionLength: algorithm.max_completion_tokens,
    stdMode: algorithm.std_mode,
    skipZeroStdGroups: algorithm.skip_zero_std_groups,
    traceFloor: algorithm.trace_floor,
    normalizeTraceWeights: algorithm.normalize_trace_weights,
  };
}

// ------------------------------------------------------------------------------------------------ docs

/** What a schema accepts, in words: `[0, 1]`, `2–64 (integer)`, `` `a`, `b` ``, "… or null". */
export function acceptedText(schema: z.ZodType): string {
  return describeJson(z.toJSONSchema(schema, { io: 'input' }) as JsonSchema);
}

interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
}

function describeJson(s: JsonSchema): string {
  if (s.anyOf) {
    const nullable = s.anyOf.some((x) => x.type === 'null');
    const rest = s.anyOf.filter((x) => x.type !== 'null').map(describeJson);
    return `${rest.join(' or ')}${nullable ? ' or null' : ''}`;
  }
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(', ');
  if (s.type === 'array' && s.items) return `a non-empty list of ${describeJson(s.items)}`;
  const low = s.minimum ?? s.exclusiveMinimum;
  const high = s.maximum ?? s.exclusiveMaximum;
  const integer = s.type === 'integer';
  if (integer && low !== undefined && high !== undefined) return `integer ${low}–${high}`;
  const open = s.exclusiveMinimum !== undefined ? '(' : '[';
  const close = s.exclusiveMaximum !== undefined ? ')' : ']';
  if (low !== undefined && high !== undefined) return `${open}${low}, ${high}${close}`;
  if (high !== undefined) return `${close === ')' ? '<' : '≤'} ${high}`;
  if (low !== undefined) return `${open === '(' ? '>' : '≥'} ${low}`;
  return s.type ?? 'any';
}

export const SETTINGS_TABLES = {
  hyperparameters: HYPERPARAMETER_SETTINGS,
  algorithm: ALGORITHM_SETTINGS,
  lora: LORA_SETTINGS,
  dpo: DPO_SETTINGS,
} as const;

/** The markdown table of one settings table, as docs/fine-tuning.md shows it (`npm run docs:tables` writes it). */
export function settingsTable(name: keyof typeof SETTINGS_TABLES): string {
  const rows = Object.entries(SETTINGS_TABLES[name] as Table<never>).map(
    ([key, s]) => `| \`${key}\` | ${defaultText(s)} | ${acceptedText(s.schema)} | ${s.meaning} |`,
  );
  const head = name === 'hyperparameters' || name === 'dpo' ? 'auto' : 'default';
  return [`| field | ${head} | accepts | meaning |`, '| --- | --- | --- | --- |', ...rows].join('\n');
}
