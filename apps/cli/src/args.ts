import { parseArgs } from 'node:util';

export const USAGE = `tracetune — train and evaluate models locally, without the service

Usage:
  tracetune train --config run.json [--backend wasm|cpu|auto|webgpu|tensorflow|tensorflow-gpu] [--resume <checkpoint dir>]
                  [--threads N]     (training threads; 0 = one per core, the default)
  tracetune eval  --model <dir> --data <file.jsonl> --grader <grader.json> [--samples 4] [--max-tokens 128]
                  [--temperature 1] [--top-p 1] [--pass-threshold 1] [--seed 0] [--backend wasm]
  tracetune data  <arithmetic|countdown> [--n 1000] [--seed 1] [--format rft|sft] [--difficulty short|medium|long]
                  [--operations N] [--operand-max N]        (JSONL on stdout)
  tracetune data  grader                                    (the math_answer grader JSON for these tasks)
  tracetune models import <dir|file.tar|file.tar.gz> [--suffix name] [--chat-template file.jinja]
  tracetune models export <model> <dir> [--dtype bfloat16|float16|float32]
                  (server commands: --base-url / --api-key, else OPENAI_BASE_URL / OPENAI_API_KEY)
`;

export type ParsedCommand =
  | { command: 'train'; config: string; backend: string | null; resume: string | null; threads: number }
  | {
      command: 'eval';
      model: string;
      data: string;
      grader: string;
      samples: number;
      maxTokens: number;
      temperature: number;
      topP: number;
      passThreshold: number;
      seed: number;
      backend: string | null;
    }
  | {
      command: 'data';
      task: string;
      n: number;
      seed: number;
      format: 'rft' | 'sft';
      difficulty: 'short' | 'medium' | 'long';
      operations: number | null;
      operandMax: number | null;
    }
  | {
      command: 'models';
      action: 'import' | 'export';
      source: string;
      target: string | null;
      suffix: string | null;
      chatTemplate: string | null;
      dtype: string | null;
      baseURL: string | null;
      apiKey: string | null;
    }
  | { command: 'help' };

export class UsageError extends Error {}

function num(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number (got "${value}")`);
  return n;
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

/** argv without `node` and the script. */
export function parseCommand(argv: readonly string[]): ParsedCommand {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  const str = { type: 'string' } as const;
  if (command === 'train') {
    const { values } = parseArgs({
      args: [...rest],
      options: { config: str, backend: str, resume: str, threads: str },
    });
    const threads = num(values.threads, 'threads', 0);
    if (!(Number.isInteger(threads) && threads >= 0))
      throw new UsageError(`--threads must be an integer ≥ 0 (got "${values.threads}")`);
    return {
      command,
      config: required(values.config, 'config'),
      backend: values.backend ?? null,
      resume: values.resume ?? null,
      threads,
    };
  }
  if (command === 'eval') {
    const { values } = parseArgs({
      args: [...rest],
      options: {
        model: str,
        data: str,
        grader: str,
        samples: str,
        'max-tokens': str,
        temperature: str,
        'top-p': str,
        'pass-threshold': str,
        seed: str,
        backend: str,
      },
    });
    return {
      command,
      model: required(values.model, 'model'),
      data: required(values.data, 'data'),
      grader: required(values.grader, 'grader'),
      samples: num(values.samples, 'samples', 4),
      maxTokens: num(values['max-tokens'], 'max-tokens', 128),
      temperature: num(values.temperature, 'temperature', 1),
      topP: num(values['top-p'], 'top-p', 1),
      passThreshold: num(values['pass-threshold'], 'pass-threshold', 1),
      seed: num(values.seed, 'seed', 0),
      backend: values.backend ?? null,
    };
  }
  if (command === 'data') {
    const { values, positionals } = parseArgs({
      args: [...rest],
      allowPositionals: true,
      options: { n: str, seed: str, format: str, difficulty: str, operations: str, 'operand-max': str },
    });
    const task = positionals[0];
    if (!task) throw new UsageError('data needs a task: arithmetic, countdown or grader');
    const format = values.format ?? 'rft';
    if (format !== 'rft' && format !== 'sft')
      throw new UsageError(`--format must be rft or sft (got "${format}")`);
    const difficulty = values.difficulty ?? 'medium';
    if (difficulty !== 'short' && difficulty !== 'medium' && difficulty !== 'long') {
      throw new UsageError(`--difficulty must be short, medium or long (got "${difficulty}")`);
    }
    return {
      command,
      task,
      n: num(values.n, 'n', 1000),
      seed: num(values.seed, 'seed', 1),
      format,
      difficulty,
      operations: values.operations ? num(values.operations, 'operations', 0) : null,
      operandMax: values['operand-max'] ? num(values['operand-max'], 'operand-max', 0) : null,
    };
  }
  if (command === 'models') return parseModels(rest);
  throw new UsageError(`unknown command "${command}"`);
}

function parseModels(rest: readonly string[]): ParsedCommand {
  const str = { type: 'string' } as const;
  const { values, positionals } = parseArgs({
    args: [...rest],
    allowPositionals: true,
    options: { suffix: str, 'chat-template': str, dtype: str, 'base-url': str, 'api-key': str },
  });
  const [action, source, target] = positionals;
  if (action !== 'import' && action !== 'export')
    throw new UsageError('models needs an action: import <dir|tar> or export <model> <dir>');
  if (!source)
    throw new UsageError(`models ${action} needs ${action === 'import' ? 'a folder or tar' : 'a model id'}`);
  if (action === 'export' && !target) throw new UsageError('models export needs a target folder');
  const dtype = values.dtype ?? null;
  if (dtype !== null && !['bfloat16', 'float16', 'float32'].includes(dtype))
    throw new UsageError(`--dtype must be bfloat16, float16 or float32 (got "${dtype}")`);
  return {
    command: 'models',
    action,
    source,
    target: target ?? null,
    suffix: values.suffix ?? null,
    chatTemplate: values['chat-template'] ?? null,
    dtype,
    baseURL: values['base-url'] ?? null,
    apiKey: values['api-key'] ?? null,
  };
}
