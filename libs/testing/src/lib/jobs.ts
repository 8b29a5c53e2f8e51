import type OpenAI from 'openai';

/** The deterministic grader of the test jobs: the number in the completion against the row's `answer`. */
export const MATH_GRADER = {
  type: 'math_answer',
  name: 'math',
  input: '{{sample.output_text}}',
  reference: '{{item.answer}}',
} as const;

/** One row of a reinforcement training file: a user prompt (by default `a+b=`) and the answer `a + b`. */
export function mathLine(a: number, b: number, prompt = `${a}+${b}=`): string {
  return JSON.stringify({ messages: [{ role: 'user', content: prompt }], answer: String(a + b) });
}

export interface TinyRlJobOptions {
  seed?: number;
  validationFile?: string;
  /** Merged over `{ batch_size: 2, n_epochs: 1 }`. */
  hyperparameters?: Record<string, unknown>;
  /** Merged over `{ num_generations: 2, max_completion_tokens: 12, beta: 0 }`. */
  algorithm?: Record<string, unknown>;
}

/**
 * A reinforcement job on tt-nano that runs in seconds on a CPU: batches of 2 prompts with 2 completions of at most
 * 12 tokens, one epoch, no reference model, graded by MATH_GRADER; a training file of 2·n rows makes n steps.
 */
export function tinyRlJob(
  trainingFile: string,
  options: TinyRlJobOptions = {},
): OpenAI.FineTuning.JobCreateParams {
  return {
    model: 'tt-nano',
    training_file: trainingFile,
    ...(options.validationFile ? { validation_file: options.validationFile } : {}),
    seed: options.seed ?? 5,
    method: {
      type: 'reinforcement',
      reinforcement: {
        grader: MATH_GRADER,
        hyperparameters: { batch_size: 2, n_epochs: 1, ...options.hyperparameters },
        algorithm: { num_generations: 2, max_completion_tokens: 12, beta: 0, ...options.algorithm },
      },
    },
  } as unknown as OpenAI.FineTuning.JobCreateParams;
}
