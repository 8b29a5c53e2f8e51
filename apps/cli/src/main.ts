/**
 * `tracetune`: local training, evaluation and synthetic data without the service (no database, queue or server).
 * The one place besides libs/config that reads argv and files; the backend comes from --backend, else
 * TRACETUNE_BACKEND (through libs/config), else the config file's `backend`, else wasm.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';

import { backendFromEnvironment, ConfigError } from '@tracetune/config';
import { BACKEND_CHOICES, type BackendChoice } from '@tracetune/contracts';
import { setupBackend } from '@tracetune/model';
import {
  evaluateModelDir,
  mathAnswerGrader,
  runTraining,
  TASKS,
  toJsonl,
  TrainingError,
} from '@tracetune/trainer';

import { parseCommand, USAGE, UsageError, type ParsedCommand } from './args';
import { exportModel, importModel, serverClient } from './models';
import { formatDuration, ProgressBar } from './progress';
import { ConfigFileError, loadRunConfig } from './run-config';

async function useBackend(choice: string | null): Promise<void> {
  const backend = choice ?? 'wasm';
  if (!(BACKEND_CHOICES as readonly string[]).includes(backend))
    throw new UsageError(`--backend must be one of ${BACKEND_CHOICES.join(', ')} (got "${backend}")`);
  await setupBackend(backend as BackendChoice, (m) => process.stderr.write(`${m}\n`));
}

async function train(cmd: Extract<ParsedCommand, { command: 'train' }>): Promise<number> {
  const { spec, output, backend } = loadRunConfig(cmd.config);
  await useBackend(cmd.backend ?? backendFromEnvironment() ?? backend ?? null);
  const bar = new ProgressBar(process.stderr);
  let firstStep = -1;
  let stop: 'continue' | 'pause' | 'cancel' = 'continue';
  // Ctrl-C once pauses at the next boundary (a resumable checkpoint); twice cancels.
  process.on('SIGINT', () => {
    stop = stop === 'continue' ? 'pause' : 'cancel';
    process.stderr.write(`\n${stop === 'pause' ? 'pausing (Ctrl-C again to cancel)…' : 'cancelling…'}\n`);
  });
  const started = Date.now();
  const outcome = await runTraining(spec, {
    checkpointRoot: output,
    resumeFrom: cmd.resume,
    threads: cmd.threads,
    // The bundled entry of the training threads (webpack.config.js), next to this script.
    threadEntry: join(__dirname, 'training-thread.js'),
    callbacks: {
      onStep: (step, total, metrics) => {
        if (firstStep < 0) firstStep = step - 1;
        bar.update(step, total, metrics, firstStep);
      },
      onEvent: (level, message) => {
        if (level !== 'info') process.stderr.write(`\n[${level}] ${message}\n`);
      },
      onCheckpoint: (c) => {
        process.stderr.write(`\ncheckpoint: step ${c.step} → ${c.dir}\n`);
      },
      control: () => stop,
    },
  });
  bar.done();
  const summary = {
    status: outcome.status,
    steps: `${outcome.step}/${outcome.totalSteps}`,
    trained_tokens: outcome.trainedTokens,
    model: outcome.modelDir,
    wall_time: formatDuration((Date.now() - started) / 1000),
    final_metrics: Object.fromEntries(
      Object.entries(outcome.finalMetrics)
        .filter(([k]) => /^(eval_|reward$|accuracy$|loss$|kl$|entropy$|grad_norm$)/.test(k))
        .map(([k, v]) => [k, Number(v.toFixed(4))]),
    ),
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return 0;
}

async function evaluate(cmd: Extract<ParsedCommand, { command: 'eval' }>): Promise<number> {
  await useBackend(cmd.backend ?? backendFromEnvironment());
  const metrics = await evaluateModelDir(
    cmd.model,
    readFileSync(cmd.data, 'utf8'),
    JSON.parse(readFileSync(cmd.grader, 'utf8')),
    {
      samples: cmd.samples,
      maxCompletionTokens: cmd.maxTokens,
      temperature: cmd.temperature,
      topP: cmd.topP,
      passThreshold: cmd.passThreshold,
      seed: cmd.seed,
    },
  );
  process.stdout.write(`${JSON.stringify(metrics, null, 2)}\n`);
  return 0;
}

function data(cmd: Extract<ParsedCommand, { command: 'data' }>): number {
  if (cmd.task === 'grader') {
    process.stdout.write(`${JSON.stringify(mathAnswerGrader())}\n`);
    return 0;
  }
  const generator = TASKS[cmd.task as keyof typeof TASKS];
  if (!generator)
    throw new UsageError(`unknown task "${cmd.task}"; known: ${Object.keys(TASKS).join(', ')}, grader`);
  const problems = generator({
    n: cmd.n,
    seed: cmd.seed,
    difficulty: cmd.difficulty,
    ...(cmd.operations !== null ? { operations: cmd.operations } : {}),
    ...(cmd.operandMax !== null ? { operandMax: cmd.operandMax } : {}),
  });
  process.stdout.write(toJsonl(problems, cmd.format));
  return 0;
}

async function models(cmd: Extract<ParsedCommand, { command: 'models' }>): Promise<number> {
  const client = serverClient(cmd);
  if (cmd.action === 'import') {
    const model = await importModel(client, cmd.source, {
      suffix: cmd.suffix ?? undefined,
      chatTemplate: cmd.chatTemplate ? readFileSync(cmd.chatTemplate, 'utf8') : undefined,
    });
    process.stdout.write(`${JSON.stringify(model, null, 2)}\n`);
    return 0;
  }
  const files = await exportModel(client, cmd.source, cmd.target as string, cmd.dtype);
  process.stderr.write(`${cmd.source} → ${cmd.target}: ${files.join(', ')}\n`);
  return 0;
}

async function main(argv: readonly string[]): Promise<number> {
  const cmd = parseCommand(argv);
  switch (cmd.command) {
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'train':
      return train(cmd);
    case 'eval':
      return evaluate(cmd);
    case 'data':
      return data(cmd);
    case 'models':
      return models(cmd);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) process.stderr.write(`${error.message}\n\n${USAGE}`);
    else if (error instanceof TrainingError)
      process.stderr.write(
        `\ntraining failed [${error.code}]${error.param ? ` (${error.param})` : ''}: ${error.message}\n`,
      );
    else if (error instanceof ConfigFileError || error instanceof ConfigError)
      process.stderr.write(`${error.message}\n`);
    else if (error instanceof OpenAI.APIError)
      process.stderr.write(
        `server error ${error.status}${error.param ? ` (${error.param})` : ''}: ${error.message}\n`,
      );
    else process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(error instanceof UsageError ? 64 : 1);
  },
);
