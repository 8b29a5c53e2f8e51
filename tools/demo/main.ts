/**
 * `npm run demo`: a first run for a new user, through the public API of a running Tracetune (`npm start`).
 * 1. uploads a synthetic arithmetic task (worked solutions ending in `#### n`);
 * 2. runs a supervised warm-up of tt-nano, then a GRPO-λ job on the warmed model with a math_answer grader;
 * 3. prints progress and the held-out accuracy of the warm-up and of the GRPO-λ model (greedy, graded by the
 *    server's own graders/run endpoint), and the dashboard URL.
 *
 *   npm run demo -- --api-key tt-… [--base-url http://localhost:8080] [--quick]
 * (the key may also come from TRACETUNE_API_KEY; `npm start` prints the bootstrap admin key once).
 */
import { parseArgs } from 'node:util';
import OpenAI, { toFile } from 'openai';

import { generateArithmetic, mathAnswerGrader, toJsonl, type TaskProblem } from '@tracetune/trainer';

const { values } = parseArgs({
  options: {
    'api-key': { type: 'string' },
    'base-url': { type: 'string', default: 'http://localhost:8080' },
    quick: { type: 'boolean', default: false },
  },
});
const apiKey = values['api-key'] ?? process.env['TRACETUNE_API_KEY'];
if (!apiKey) {
  console.error(
    'Pass --api-key tt-… (the bootstrap admin key printed by `npm start`) or set TRACETUNE_API_KEY.',
  );
  process.exit(64);
}
const baseUrl = values['base-url']!.replace(/\/$/, '');
const client = new OpenAI({ apiKey, baseURL: `${baseUrl}/v1` });
const grader = mathAnswerGrader('math');
// A task a byte-level tt-nano learns in a few hundred SFT steps (bench/learning found the same): chained additions of
// small numbers with worked solutions. The LR multipliers lift the trainer's small-model defaults (docs/trainer.md)
// to a warm-up rate of ≈ 2e-3 and an RL rate of ≈ 6e-5.
const task = { difficulty: 'short' as const, operandMax: 6, operators: ['+'] as '+'[] };
const sizes = values.quick
  ? { sft: 800, sftEpochs: 2, rl: 32, heldOut: 24 }
  : { sft: 1600, sftEpochs: 3, rl: 64, heldOut: 48 };

async function upload(name: string, text: string): Promise<string> {
  const file = await client.files.create({
    file: await toFile(Buffer.from(text), name),
    purpose: 'fine-tune',
  });
  const done = await client.files.waitForProcessing(file.id);
  if (done.status !== 'processed') throw new Error(`${name}: ${done.status_details}`);
  return file.id;
}

async function follow(jobId: string, label: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  let last = '';
  for (;;) {
    const job = await client.fineTuning.jobs.retrieve(jobId);
    const progress = (job as unknown as { progress?: { step: number; total_steps: number | null } }).progress;
    const events = await client.fineTuning.jobs.listEvents(jobId, { limit: 1 });
    const line = `${label}: ${job.status} step ${progress?.step ?? 0}/${progress?.total_steps ?? '?'} — ${events.data[0]?.message ?? ''}`;
    if (line !== last) {
      console.log(line);
      last = line;
    }
    if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

async function accuracy(model: string, problems: TaskProblem[]): Promise<number> {
  let correct = 0;
  for (const p of problems) {
    const answer = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: p.prompt }],
      temperature: 0,
      max_tokens: 64,
    });
    const graded = await client.fineTuning.alpha.graders.run({
      grader: grader as never,
      model_sample: answer.choices[0].message.content ?? '',
      item: { answer: p.answer },
    });
    correct += graded.reward >= 1 ? 1 : 0;
  }
  return correct / problems.length;
}

async function main(): Promise<void> {
  console.log(`Tracetune demo against ${baseUrl}`);
  const heldOut = generateArithmetic({ n: sizes.heldOut, seed: 3, ...task });
  const sftFile = await upload(
    'arithmetic-sft.jsonl',
    toJsonl(generateArithmetic({ n: sizes.sft, seed: 1, ...task }), 'sft'),
  );
  const rlFile = await upload(
    'arithmetic-rl.jsonl',
    toJsonl(generateArithmetic({ n: sizes.rl, seed: 2, ...task }), 'rft'),
  );
  const validFile = await upload('arithmetic-valid.jsonl', toJsonl(heldOut, 'rft'));

  const sft = await client.fineTuning.jobs.create({
    model: 'tt-nano',
    training_file: sftFile,
    suffix: 'demo-sft',
    seed: 1,
    method: {
      type: 'supervised',
      supervised: {
        hyperparameters: { n_epochs: sizes.sftEpochs, batch_size: 16, learning_rate_multiplier: 6 },
      },
    },
  });
  const warm = await follow(sft.id, 'SFT warm-up');
  if (warm.status !== 'succeeded') throw new Error(`SFT failed: ${JSON.stringify(warm.error)}`);
  const before = await accuracy(warm.fine_tuned_model!, heldOut);
  console.log(`held-out accuracy after the SFT warm-up: ${(100 * before).toFixed(1)} %`);

  const rl = await client.fineTuning.jobs.create({
    model: warm.fine_tuned_model!,
    training_file: rlFile,
    validation_file: validFile,
    suffix: 'demo-grpo-lambda',
    seed: 1,
    method: {
      type: 'reinforcement',
      reinforcement: {
        grader,
        hyperparameters: {
          batch_size: 8,
          n_epochs: 1,
          eval_interval: 4,
          eval_samples: 2,
          learning_rate_multiplier: 0.2,
        },
        algorithm: { name: 'grpo_lambda', num_generations: 8, max_completion_tokens: 48, beta: 0 },
      },
    } as never,
  });
  const tuned = await follow(rl.id, 'GRPO-λ');
  if (tuned.status !== 'succeeded') throw new Error(`GRPO-λ failed: ${JSON.stringify(tuned.error)}`);
  const after = await accuracy(tuned.fine_tuned_model!, heldOut);
  console.log(
    `held-out accuracy: ${(100 * before).toFixed(1)} % after SFT → ${(100 * after).toFixed(1)} % after GRPO-λ`,
  );
  console.log(`model: ${tuned.fine_tuned_model}`);
  console.log(`dashboard: ${baseUrl}/dashboard/  (runs ${sft.id} and ${rl.id})`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
