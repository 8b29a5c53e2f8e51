/**
 * `--via-api`: one seed of one arm through the jobs API of a running Tracetune (`npm start`), checked against the
 * library. The SFT warm-up and the RL run are jobs; the warm-up model is downloaded (GET /v1/models/{id}/content) and
 * the same RL run is repeated in-process from it with the settings the api resolves (the worker adds no trainer
 * options). Sampling randomness belongs to (job seed, step, group), so the two paths must log the same rewards; the
 * report prints both per-step series and their largest difference, and exits non-zero when step 1 differs.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import { resolveMethod, type AlgorithmInput } from '@tracetune/contracts';
import { generateChain, mathAnswerGrader, runTraining, toJsonl, type StepMetrics } from '@tracetune/trainer';

import { ARMS, PRESETS, rlCommon, taskLabel, type BenchConfig } from './config';
import { log } from './run';

export interface ViaApiOptions {
  baseUrl: string;
  apiKey: string | undefined;
  quick: boolean;
  work: string;
}

const ARM = 'grpo_lambda';
const SEED = 1;

async function upload(client: OpenAI, name: string, text: string): Promise<string> {
  const file = await client.files.create({
    file: await toFile(Buffer.from(text), name),
    purpose: 'fine-tune',
  });
  const done = await client.files.waitForProcessing(file.id);
  if (done.status !== 'processed') throw new Error(`${name}: ${done.status_details}`);
  return file.id;
}

async function finish(client: OpenAI, id: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(id);
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) {
      if (job.status !== 'succeeded')
        throw new Error(`job ${id} ${job.status}: ${JSON.stringify(job.error)}`);
      return job;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** The job's per-step metrics (Tracetune's GET /v1/fine_tuning/jobs/{id}/metrics). */
async function jobMetrics(o: ViaApiOptions, id: string): Promise<StepMetrics[]> {
  const res = await fetch(`${o.baseUrl}/v1/fine_tuning/jobs/${id}/metrics`, {
    headers: { authorization: `Bearer ${o.apiKey}` },
  });
  if (!res.ok) throw new Error(`metrics of ${id}: HTTP ${res.status}`);
  const body = (await res.json()) as { data: { step: number; metrics: StepMetrics }[] };
  return body.data.sort((a, b) => a.step - b.step).map((r) => r.metrics);
}

/** Downloads a model as its HF folder (GET /v1/models/{id}/content, float32) into `dir`. */
async function download(o: ViaApiOptions, model: string, dir: string): Promise<string> {
  const res = await fetch(`${o.baseUrl}/v1/models/${encodeURIComponent(model)}/content?dtype=float32`, {
    headers: { authorization: `Bearer ${o.apiKey}` },
  });
  if (!res.ok) throw new Error(`download of ${model}: HTTP ${res.status} ${await res.text()}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = join(dir, 'model.tar');
  writeFileSync(tar, Buffer.from(await res.arrayBuffer()));
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  rmSync(tar);
  const entries = execFileSync('ls', [dir]).toString().trim().split('\n');
  return entries.includes('config.json') ? dir : join(dir, entries[0]);
}

export async function viaApi(o: ViaApiOptions): Promise<void> {
  if (!o.apiKey) throw new Error('--via-api needs --api-key tt-… (or TRACETUNE_API_KEY)');
  const client = new OpenAI({ apiKey: o.apiKey, baseURL: `${o.baseUrl}/v1` });
  const {
    seeds: _s,
    grpoSeeds: _g,
    variants,
    arms: _a,
    maxWarmupSteps: _m,
    ...knobs
  } = PRESETS[o.quick ? 'quick' : 'full'];
  const config: BenchConfig = {
    preset: o.quick ? 'quick' : 'full',
    ...knobs,
    task: taskLabel(variants[0]),
    variant: variants[0],
    warmupSteps: 0,
    backend: 'wasm',
  };
  const arm = ARMS.find((a) => a.name === ARM) as (typeof ARMS)[number];
  const sft = generateChain({ n: o.quick ? 160 : 1600, seed: 11, variant: config.variant });
  const train = toJsonl(
    generateChain({ n: config.promptsPerStep * config.rlSteps, seed: 21, variant: config.variant }),
    'rft',
  );
  const heldOut = toJsonl(generateChain({ n: config.heldOut, seed: 99, variant: config.variant }), 'rft');
  log(
    `via api ${o.baseUrl}: ${config.task}; SFT warm-up job (${sft.length} examples), then ${ARM} seed ${SEED}`,
  );
  const warm = await finish(
    client,
    (
      await client.fineTuning.jobs.create({
        model: config.model,
        training_file: await upload(client, 'chain-sft.jsonl', toJsonl(sft, 'sft')),
        method: {
          type: 'supervised',
          supervised: { hyperparameters: { n_epochs: 1, batch_size: 16, learning_rate_multiplier: 6 } },
        },
        seed: 0,
      })
    ).id,
  );
  const rlInput = {
    type: 'reinforcement' as const,
    reinforcement: {
      grader: mathAnswerGrader(),
      hyperparameters: { batch_size: config.promptsPerStep, n_epochs: 1, eval_interval: config.evalEvery },
      algorithm: { ...rlCommon(config), ...arm.algorithm } as AlgorithmInput,
    },
  };
  const [trainId, heldOutId] = [
    await upload(client, 'chain-rl.jsonl', train),
    await upload(client, 'chain-held-out.jsonl', heldOut),
  ];
  const rlJob = await finish(
    client,
    (
      await client.fineTuning.jobs.create({
        model: warm.fine_tuned_model as string,
        training_file: trainId,
        validation_file: heldOutId,
        method: rlInput as never,
        seed: SEED,
      })
    ).id,
  );
  const service = await jobMetrics(o, rlJob.id);
  log(
    `service: ${rlJob.id} ran ${service.length} steps; repeating it in-process from the downloaded warm-up`,
  );
  const root = join(o.work, 'via-api');
  const warmDir = await download(o, warm.fine_tuned_model as string, join(root, 'warmup'));
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'data', 'train.jsonl'), train);
  writeFileSync(join(root, 'data', 'held-out.jsonl'), heldOut);
  const method = resolveMethod(rlInput, config.promptsPerStep * config.rlSteps);
  if (method.type !== 'reinforcement') throw new Error('unreachable');
  const library: StepMetrics[] = [];
  await runTraining(
    {
      method: 'reinforcement',
      baseModel: { kind: 'directory', path: warmDir },
      trainingFile: join(root, 'data', 'train.jsonl'),
      validationFile: join(root, 'data', 'held-out.jsonl'),
      grader: method.reinforcement.grader,
      hyperparameters: method.reinforcement.hyperparameters,
      algorithm: method.reinforcement.algorithm,
      lora: method.reinforcement.lora,
      seed: SEED,
      checkpointInterval: 0,
      sampleInterval: 0,
      passThreshold: 1,
    },
    { checkpointRoot: join(root, 'run'), callbacks: { onStep: (_s, _t, m) => void library.push(m) } },
  );
  report(service, library);
}

function report(service: StepMetrics[], library: StepMetrics[]): void {
  const keys = ['reward', 'accuracy', 'completions/mean_length', 'eval_accuracy'];
  const lines = [
    `\n## Learning benchmark through the jobs API vs the library (${ARM}, seed ${SEED})\n`,
    `| step | ${keys.map((k) => `${k} (api / library)`).join(' | ')} |`,
    `|---|${keys.map(() => '---').join('|')}|`,
  ];
  let largest = 0;
  for (let i = 0; i < Math.max(service.length, library.length); i++) {
    const cells = keys.map((k) => {
      const [a, b] = [service[i]?.[k], library[i]?.[k]];
      if (a === undefined && b === undefined) return '';
      if (a !== undefined && b !== undefined) largest = Math.max(largest, Math.abs(a - b));
      return `${a?.toFixed(4) ?? '–'} / ${b?.toFixed(4) ?? '–'}`;
    });
    lines.push(`| ${i + 1} | ${cells.join(' | ')} |`);
  }
  const firstSame = service[0] && library[0] && service[0]['reward'] === library[0]['reward'];
  lines.push(
    `\nsteps: api ${service.length}, library ${library.length}; largest difference ${largest.toExponential(2)}; step 1 rewards ${firstSame ? 'identical' : 'DIFFER'}`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  if (!firstSame || service.length !== library.length) process.exitCode = 1;
}
