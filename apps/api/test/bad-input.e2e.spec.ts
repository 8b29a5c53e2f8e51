import { readdir } from 'node:fs/promises';
import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import { MATH_GRADER, queryDatabase } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/** What a request answered: its status and the OpenAI error envelope (if any). */
interface Answer {
  status: number;
  error?: { message?: unknown; type?: unknown; param?: unknown; code?: unknown };
}

interface Context {
  api: TestApi;
  /** SDK clients: `a` and `b` are member keys of two organizations; `admin` is the operator key. */
  a: OpenAI;
  b: OpenAI;
  admin: OpenAI;
  keys: { a: string; b: string; revoked: string };
  rftFile: string;
  chatFile: string;
  jobA: string;
}

type Case = [name: string, status: number, param: string | null, run: (ctx: Context) => Promise<Answer>];

/** Runs an SDK call that must fail and reads its status and envelope from the SDK's error. */
async function sdk(call: () => Promise<unknown>): Promise<Answer> {
  try {
    await call();
  } catch (error) {
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      return { status: error.status, error: error.error as Answer['error'] };
    }
    throw error;
  }
  return { status: 200 };
}

/** Sends bytes the SDK would not (bad JSON, repeated query keys, odd encodings) with fetch. */
async function raw(
  ctx: Context,
  method: string,
  path: string,
  options: { body?: string | FormData; key?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const key = options.key === undefined ? ctx.keys.a : options.key;
  const response = await fetch(`${ctx.api.url}${path}`, {
    method,
    body: options.body,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(typeof options.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
  });
  const text = await response.text();
  const parsed = text.startsWith('{') ? (JSON.parse(text) as { error?: Answer['error'] }) : {};
  return { status: response.status, error: parsed.error };
}

const json = (value: unknown) => JSON.stringify(value);
const NUL = 'a\u0000b';
const job = (ctx: Context, extra: Record<string, unknown> = {}) => ({
  model: 'tt-nano',
  training_file: ctx.rftFile,
  method: {
    type: 'reinforcement',
    reinforcement: { grader: MATH_GRADER, hyperparameters: { batch_size: 2 } },
  },
  ...extra,
});
const rl = (ctx: Context, reinforcement: Record<string, unknown>) =>
  job(ctx, { method: { type: 'reinforcement', reinforcement: { grader: MATH_GRADER, ...reinforcement } } });
const createJob = (ctx: Context, body: Record<string, unknown>) =>
  sdk(() => ctx.a.fineTuning.jobs.create(body as unknown as OpenAI.FineTuning.JobCreateParams));
const messages = [{ role: 'user', content: 'hi' }];
const chat = (ctx: Context, body: Record<string, unknown>) =>
  sdk(() =>
    ctx.a.chat.completions.create({ model: 'tt-nano', messages, ...body } as unknown as {
      model: string;
      messages: OpenAI.ChatCompletionMessageParam[];
    }),
  );
const complete = (ctx: Context, body: Record<string, unknown>) =>
  sdk(() =>
    ctx.a.completions.create({ model: 'tt-nano', prompt: 'hi', ...body } as unknown as {
      model: string;
      prompt: string;
    }),
  );
const upload = (ctx: Context, parts: [string, string, string?][]) => {
  const form = new FormData();
  for (const [name, value, filename] of parts) {
    if (filename === undefined) form.append(name, value);
    else form.append(name, new Blob([value]), filename);
  }
  return raw(ctx, 'POST', '/v1/files', { body: form });
};
const line = `${json({ messages, answer: '1' })}\n`;

const FILES: Case[] = [
  ['retrieve an unknown file', 404, 'id', (c) => sdk(() => c.a.files.retrieve('file-nope'))],
  ["retrieve another organization's file", 404, 'id', (c) => sdk(() => c.b.files.retrieve(c.rftFile))],
  ['retrieve a file id with NUL', 400, 'id', (c) => sdk(() => c.a.files.retrieve(NUL))],
  ['retrieve a file id with a newline', 400, 'id', (c) => sdk(() => c.a.files.retrieve('file-\n'))],
  ['retrieve a 300-character file id', 400, 'id', (c) => sdk(() => c.a.files.retrieve('f'.repeat(300)))],
  ['download a file id with NUL', 400, 'id', (c) => sdk(() => c.a.files.content(NUL))],
  ["download another organization's file", 404, 'id', (c) => sdk(() => c.b.files.content(c.rftFile))],
  ['delete a file id with DEL', 400, 'id', (c) => sdk(() => c.a.files.delete('file-\u007f'))],
  ["delete another organization's file", 404, 'id', (c) => sdk(() => c.b.files.delete(c.rftFile))],
  ['list files with limit=abc', 400, 'limit', (c) => raw(c, 'GET', '/v1/files?limit=abc')],
  ['list files with limit=0', 400, 'limit', (c) => sdk(() => c.a.files.list({ limit: 0 }))],
  ['list files with limit=10001', 400, 'limit', (c) => sdk(() => c.a.files.list({ limit: 10_001 }))],
  ['list files with limit=1.5', 400, 'limit', (c) => raw(c, 'GET', '/v1/files?limit=1.5')],
  ['list files with limit twice', 400, 'limit', (c) => raw(c, 'GET', '/v1/files?limit=1&limit=2')],
  ['list files with an empty after', 400, 'after', (c) => raw(c, 'GET', '/v1/files?after=')],
  ['list files after an id with NUL', 400, 'after', (c) => raw(c, 'GET', '/v1/files?after=a%00b')],
  ['list files after an unknown id', 400, 'after', (c) => sdk(() => c.a.files.list({ after: 'file-x' }))],
  ['list files with purpose=banana', 400, 'purpose', (c) => raw(c, 'GET', '/v1/files?purpose=banana')],
  ['list files with order=sideways', 400, 'order', (c) => raw(c, 'GET', '/v1/files?order=sideways')],
  ['list files with an unknown query parameter', 400, 'colour', (c) => raw(c, 'GET', '/v1/files?colour=red')],
  [
    'upload with purpose=banana',
    400,
    'purpose',
    (c) =>
      sdk(async () =>
        c.a.files.create({
          file: await toFile(Buffer.from(line), 'a.jsonl'),
          purpose: 'banana' as 'fine-tune',
        }),
      ),
  ],
  ['upload without purpose', 400, 'purpose', (c) => upload(c, [['file', line, 'a.jsonl']])],
  ['upload without a file', 400, 'file', (c) => upload(c, [['purpose', 'fine-tune']])],
  [
    'upload two file parts',
    400,
    'file',
    (c) =>
      upload(c, [
        ['purpose', 'fine-tune'],
        ['file', line, 'a.jsonl'],
        ['file', line, 'b.jsonl'],
      ]),
  ],
  [
    "upload 'file' as a plain field",
    400,
    'file',
    (c) =>
      upload(c, [
        ['purpose', 'fine-tune'],
        ['file', line],
      ]),
  ],
  [
    'upload with an unknown field',
    400,
    'colour',
    (c) =>
      upload(c, [
        ['purpose', 'fine-tune'],
        ['colour', 'red'],
        ['file', line, 'a.jsonl'],
      ]),
  ],
  [
    'upload with a control character in the file name',
    400,
    'file',
    (c) =>
      upload(c, [
        ['purpose', 'fine-tune'],
        ['file', line, 'a\u0007.jsonl'],
      ]),
  ],
  ['upload a JSON body', 400, 'file', (c) => raw(c, 'POST', '/v1/files', { body: json({ purpose: 'x' }) })],
  [
    'upload multipart without a boundary',
    400,
    'file',
    (c) =>
      raw(c, 'POST', '/v1/files', {
        body: 'x' as string,
        headers: { 'content-type': 'multipart/form-data' },
      }),
  ],
  [
    'upload a form cut off after the file headers',
    400,
    'file',
    (c) =>
      raw(c, 'POST', '/v1/files', {
        body: '--b\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n',
        headers: { 'content-type': 'multipart/form-data; boundary=b' },
      }),
  ],
];

const JOBS: Case[] = [
  ['list jobs with limit=abc', 400, 'limit', (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?limit=abc')],
  ['list jobs with limit=0', 400, 'limit', (c) => sdk(() => c.a.fineTuning.jobs.list({ limit: 0 }))],
  ['list jobs with limit=101', 400, 'limit', (c) => sdk(() => c.a.fineTuning.jobs.list({ limit: 101 }))],
  ['list jobs with limit=1e3', 400, 'limit', (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?limit=1e3')],
  ['list jobs with limit twice', 400, 'limit', (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?limit=1&limit=2')],
  ['list jobs after an id with NUL', 400, 'after', (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?after=%00')],
  [
    'list jobs after an unknown id',
    400,
    'after',
    (c) => sdk(() => c.a.fineTuning.jobs.list({ after: 'ftjob-nope' })),
  ],
  [
    "list jobs after another organization's job",
    400,
    'after',
    (c) => sdk(() => c.b.fineTuning.jobs.list({ after: c.jobA })),
  ],
  [
    'list jobs with an unknown query parameter',
    400,
    'status',
    (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?status=x'),
  ],
  [
    'list jobs with a metadata filter given twice',
    400,
    'metadata[k]',
    (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?metadata[k]=1&metadata[k]=2'),
  ],
  [
    'list jobs with a metadata key holding NUL',
    400,
    'metadata[a\u0000]',
    (c) => raw(c, 'GET', '/v1/fine_tuning/jobs?metadata[a%00]=1'),
  ],
  [
    'retrieve a job id with NUL',
    400,
    'fine_tuning_job_id',
    (c) => sdk(() => c.a.fineTuning.jobs.retrieve(NUL)),
  ],
  [
    'retrieve an unknown job',
    404,
    'fine_tuning_job_id',
    (c) => sdk(() => c.a.fineTuning.jobs.retrieve('ftjob-x')),
  ],
  [
    "retrieve another organization's job",
    404,
    'fine_tuning_job_id',
    (c) => sdk(() => c.b.fineTuning.jobs.retrieve(c.jobA)),
  ],
  ['cancel a job id with NUL', 400, 'fine_tuning_job_id', (c) => sdk(() => c.a.fineTuning.jobs.cancel(NUL))],
  [
    "cancel another organization's job",
    404,
    'fine_tuning_job_id',
    (c) => sdk(() => c.b.fineTuning.jobs.cancel(c.jobA)),
  ],
  ['pause an unknown job', 404, 'fine_tuning_job_id', (c) => sdk(() => c.a.fineTuning.jobs.pause('ftjob-x'))],
  [
    'resume a job id with a tab',
    400,
    'fine_tuning_job_id',
    (c) => sdk(() => c.a.fineTuning.jobs.resume('a\tb')),
  ],
  ['pause a job id with NUL', 400, 'fine_tuning_job_id', (c) => sdk(() => c.a.fineTuning.jobs.pause(NUL))],
  [
    'list events of a job id with NUL',
    400,
    'fine_tuning_job_id',
    (c) => sdk(() => c.a.fineTuning.jobs.listEvents(NUL)),
  ],
  [
    'list events with limit=abc',
    400,
    'limit',
    (c) => raw(c, 'GET', `/v1/fine_tuning/jobs/${c.jobA}/events?limit=abc`),
  ],
  [
    'list events after an unknown event',
    400,
    'after',
    (c) => sdk(() => c.a.fineTuning.jobs.listEvents(c.jobA, { after: 'ftevent-x' })),
  ],
  [
    'list events with an unknown query parameter',
    400,
    'level',
    (c) => raw(c, 'GET', `/v1/fine_tuning/jobs/${c.jobA}/events?level=x`),
  ],
  [
    "list events of another organization's job",
    404,
    'fine_tuning_job_id',
    (c) => sdk(() => c.b.fineTuning.jobs.listEvents(c.jobA)),
  ],
  [
    'list checkpoints with limit=0',
    400,
    'limit',
    (c) => sdk(() => c.a.fineTuning.jobs.checkpoints.list(c.jobA, { limit: 0 })),
  ],
  [
    'list checkpoints after an id with NUL',
    400,
    'after',
    (c) => raw(c, 'GET', `/v1/fine_tuning/jobs/${c.jobA}/checkpoints?after=%00`),
  ],
  [
    'read metrics with after_step=abc',
    400,
    'after_step',
    (c) => raw(c, 'GET', `/v1/fine_tuning/jobs/${c.jobA}/metrics?after_step=abc`),
  ],
  [
    'read metrics with after_step=-5',
    400,
    'after_step',
    (c) => raw(c, 'GET', `/v1/fine_tuning/jobs/${c.jobA}/metrics?after_step=-5`),
  ],
  [
    'read metrics of a job id with NUL',
    400,
    'fine_tuning_job_id',
    (c) => raw(c, 'GET', '/v1/fine_tuning/jobs/%00/metrics'),
  ],
  ['create a job without a model', 400, 'model', (c) => createJob(c, { ...job(c), model: undefined })],
  ['create a job with an empty model', 400, 'model', (c) => createJob(c, job(c, { model: '' }))],
  ['create a job with a model holding NUL', 400, 'model', (c) => createJob(c, job(c, { model: NUL }))],
  [
    'create a job with a 1000-character model',
    400,
    'model',
    (c) => createJob(c, job(c, { model: 'm'.repeat(1000) })),
  ],
  ['create a job with an unknown model', 400, 'model', (c) => createJob(c, job(c, { model: 'nope' }))],
  [
    'create a job with a training file holding NUL',
    400,
    'training_file',
    (c) => createJob(c, job(c, { training_file: NUL })),
  ],
  [
    'create a job with an unknown training file',
    400,
    'training_file',
    (c) => createJob(c, job(c, { training_file: 'file-x' })),
  ],
  [
    "create a job on another organization's file",
    400,
    'training_file',
    (c) => sdk(() => c.b.fineTuning.jobs.create(job(c) as unknown as OpenAI.FineTuning.JobCreateParams)),
  ],
  [
    'create a job with a validation file holding NUL',
    400,
    'validation_file',
    (c) => createJob(c, job(c, { validation_file: NUL })),
  ],
  [
    'create a job with a suffix holding a space',
    400,
    'suffix',
    (c) => createJob(c, job(c, { suffix: 'a b' })),
  ],
  [
    'create a job with a 65-character suffix',
    400,
    'suffix',
    (c) => createJob(c, job(c, { suffix: 's'.repeat(65) })),
  ],
  ['create a job with seed -1', 400, 'seed', (c) => createJob(c, job(c, { seed: -1 }))],
  ['create a job with seed 1.5', 400, 'seed', (c) => createJob(c, job(c, { seed: 1.5 }))],
  ['create a job with seed "7"', 400, 'seed', (c) => createJob(c, job(c, { seed: '7' }))],
  [
    'create a job with 17 metadata keys',
    400,
    'metadata',
    (c) =>
      createJob(
        c,
        job(c, { metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
      ),
  ],
  [
    'create a job with a metadata value holding NUL',
    400,
    'metadata.team',
    (c) => createJob(c, job(c, { metadata: { team: NUL } })),
  ],
  [
    'create a job with a 513-character metadata value',
    400,
    'metadata.team',
    (c) => createJob(c, job(c, { metadata: { team: 'v'.repeat(513) } })),
  ],
  [
    'create a job with a metadata number',
    400,
    'metadata.team',
    (c) => createJob(c, job(c, { metadata: { team: 1 } })),
  ],
  ['create a job with an unknown field', 400, 'colour', (c) => createJob(c, job(c, { colour: 'red' }))],
  [
    'create a job with method.type=banana',
    400,
    'method.type',
    (c) => createJob(c, job(c, { method: { type: 'banana' } })),
  ],
  [
    'create a job with n_epochs=0',
    400,
    'method.reinforcement.hyperparameters.n_epochs',
    (c) => createJob(c, rl(c, { hyperparameters: { n_epochs: 0 } })),
  ],
  [
    'create a job with a negative learning rate multiplier',
    400,
    'method.reinforcement.hyperparameters.learning_rate_multiplier',
    (c) => createJob(c, rl(c, { hyperparameters: { learning_rate_multiplier: -1 } })),
  ],
  [
    'create a job with batch_size="x"',
    400,
    'method.reinforcement.hyperparameters.batch_size',
    (c) => createJob(c, rl(c, { hyperparameters: { batch_size: 'x' } })),
  ],
  [
    'create a job with λ = 2',
    400,
    'method.reinforcement.algorithm.lambda',
    (c) => createJob(c, rl(c, { algorithm: { lambda: 2 } })),
  ],
  [
    'create a job with an unknown algorithm setting',
    400,
    'method.reinforcement.algorithm.colour',
    (c) => createJob(c, rl(c, { algorithm: { colour: 1 } })),
  ],
  [
    'create a reinforcement job without a grader',
    400,
    'method.reinforcement.grader',
    (c) => createJob(c, job(c, { method: { type: 'reinforcement', reinforcement: {} } })),
  ],
  [
    'create a job with an unknown grader type',
    400,
    'method.reinforcement.grader.type',
    (c) => createJob(c, rl(c, { grader: { type: 'nope', name: 'x' } })),
  ],
  [
    'create a supervised job on a reinforcement file',
    400,
    'training_file',
    (c) => createJob(c, job(c, { method: { type: 'supervised' } })),
  ],
  [
    'create a reinforcement job on a chat file',
    400,
    'training_file',
    (c) => createJob(c, job(c, { training_file: c.chatFile })),
  ],
  [
    'create a job with a body that is not JSON',
    400,
    null,
    (c) => raw(c, 'POST', '/v1/fine_tuning/jobs', { body: '{"model":' }),
  ],
  [
    'create a job with a JSON array body',
    400,
    null,
    (c) => raw(c, 'POST', '/v1/fine_tuning/jobs', { body: '[]' }),
  ],
  [
    'create a job with a body over the JSON limit',
    413,
    null,
    (c) => raw(c, 'POST', '/v1/fine_tuning/jobs', { body: json({ model: 'x'.repeat(11 * 1024 * 1024) }) }),
  ],
];

const CHAT: Case[] = [
  ['chat without a model', 400, 'model', (c) => chat(c, { model: undefined })],
  ['chat with a model holding NUL', 400, 'model', (c) => chat(c, { model: NUL })],
  ['chat with an unknown model', 404, 'model', (c) => chat(c, { model: 'nope' })],
  ['chat without messages', 400, 'messages', (c) => chat(c, { messages: undefined })],
  ['chat with no messages', 400, 'messages', (c) => chat(c, { messages: [] })],
  [
    'chat with role=banana',
    400,
    'messages[0].role',
    (c) => chat(c, { messages: [{ role: 'banana', content: 'x' }] }),
  ],
  [
    'chat with numeric content',
    400,
    'messages[0].content',
    (c) => chat(c, { messages: [{ role: 'user', content: 1 }] }),
  ],
  [
    'chat with an unknown message field',
    400,
    'messages[0].colour',
    (c) => chat(c, { messages: [{ role: 'user', content: 'x', colour: 1 }] }),
  ],
  ['chat with temperature=3', 400, 'temperature', (c) => chat(c, { temperature: 3 })],
  ['chat with top_p=0', 400, 'top_p', (c) => chat(c, { top_p: 0 })],
  ['chat with n=0', 400, 'n', (c) => chat(c, { n: 0 })],
  ['chat with n=17', 400, 'n', (c) => chat(c, { n: 17 })],
  ['chat with max_tokens=0', 400, 'max_tokens', (c) => chat(c, { max_tokens: 0 })],
  ['chat with max_tokens=1.5', 400, 'max_tokens', (c) => chat(c, { max_tokens: 1.5 })],
  [
    'chat with max_completion_tokens=-1',
    400,
    'max_completion_tokens',
    (c) => chat(c, { max_completion_tokens: -1 }),
  ],
  ['chat with five stop sequences', 400, 'stop', (c) => chat(c, { stop: ['a', 'b', 'c', 'd', 'e'] })],
  ['chat with audio', 400, 'audio', (c) => chat(c, { audio: { voice: 'alloy', format: 'mp3' } })],
  ['chat with logprobs="yes"', 400, 'logprobs', (c) => chat(c, { logprobs: 'yes' })],
  ['chat with top_logprobs=21', 400, 'top_logprobs', (c) => chat(c, { top_logprobs: 21 })],
  [
    'chat with response_format xml',
    400,
    'response_format.type',
    (c) => chat(c, { response_format: { type: 'xml' } }),
  ],
  ['chat with presence_penalty=1', 400, 'presence_penalty', (c) => chat(c, { presence_penalty: 1 })],
  ['chat with stream="yes"', 400, 'stream', (c) => chat(c, { stream: 'yes' })],
  ['chat with an unknown field', 400, 'colour', (c) => chat(c, { colour: 'red' })],
  ['complete without a prompt', 400, 'prompt', (c) => complete(c, { prompt: undefined })],
  ['complete with echo', 400, 'echo', (c) => complete(c, { echo: true })],
  ['complete with best_of=2', 400, 'best_of', (c) => complete(c, { best_of: 2 })],
  ['complete with a model holding NUL', 400, 'model', (c) => complete(c, { model: NUL })],
  ['complete with logprobs=6', 400, 'logprobs', (c) => complete(c, { logprobs: 6 })],
];

const MODELS_AND_KEYS: Case[] = [
  ['retrieve a model id with NUL', 400, 'model', (c) => sdk(() => c.a.models.retrieve(NUL))],
  ['retrieve an unknown model', 404, 'model', (c) => sdk(() => c.a.models.retrieve('nope'))],
  ['retrieve a 300-character model id', 400, 'model', (c) => sdk(() => c.a.models.retrieve('m'.repeat(300)))],
  ['delete a model id with NUL', 400, 'model', (c) => sdk(() => c.a.models.delete(NUL))],
  ['delete an unknown model', 404, 'model', (c) => sdk(() => c.a.models.delete('ft:nope'))],
  [
    'create a key with an empty name',
    400,
    'name',
    (c) => raw(c, 'POST', '/admin/api-keys', { key: c.api.adminKey, body: json({ name: '' }) }),
  ],
  [
    'create a key with a name holding NUL',
    400,
    'name',
    (c) => raw(c, 'POST', '/admin/api-keys', { key: c.api.adminKey, body: json({ name: NUL }) }),
  ],
  [
    'create a key with role=root',
    400,
    'role',
    (c) =>
      raw(c, 'POST', '/admin/api-keys', { key: c.api.adminKey, body: json({ name: 'x', role: 'root' }) }),
  ],
  [
    'create a key with an organization id holding NUL',
    400,
    'organization_id',
    (c) =>
      raw(c, 'POST', '/admin/api-keys', {
        key: c.api.adminKey,
        body: json({ name: 'x', organization_id: NUL }),
      }),
  ],
  [
    'create a key with an unknown field',
    400,
    'colour',
    (c) => raw(c, 'POST', '/admin/api-keys', { key: c.api.adminKey, body: json({ name: 'x', colour: 1 }) }),
  ],
  [
    'revoke a key id with NUL',
    400,
    'id',
    (c) => raw(c, 'DELETE', '/admin/api-keys/%00', { key: c.api.adminKey }),
  ],
  [
    'revoke an unknown key',
    404,
    'id',
    (c) => raw(c, 'DELETE', '/admin/api-keys/key-nope', { key: c.api.adminKey }),
  ],
  [
    'list keys of an organization id holding NUL',
    400,
    'organization_id',
    (c) => raw(c, 'GET', '/admin/api-keys?organization_id=%00', { key: c.api.adminKey }),
  ],
  [
    'list keys with an unknown query parameter',
    400,
    'colour',
    (c) => raw(c, 'GET', '/admin/api-keys?colour=1', { key: c.api.adminKey }),
  ],
  [
    'import a model without a path',
    400,
    'path',
    (c) => raw(c, 'POST', '/admin/models/import', { key: c.api.adminKey, body: json({}) }),
  ],
  [
    'import a model with a bad id',
    400,
    'id',
    (c) =>
      raw(c, 'POST', '/admin/models/import', { key: c.api.adminKey, body: json({ path: 'x', id: '../x' }) }),
  ],
];

const AUTH_AND_ROUTING: Case[] = [
  ['call without an Authorization header', 401, null, (c) => raw(c, 'GET', '/v1/files', { key: null })],
  ['call with a malformed key', 401, null, (c) => raw(c, 'GET', '/v1/files', { key: 'garbage' })],
  [
    'call with an unknown well-formed key',
    401,
    null,
    (c) => raw(c, 'GET', '/v1/files', { key: `tt-${'a'.repeat(48)}` }),
  ],
  ['call with a revoked key', 401, null, (c) => raw(c, 'GET', '/v1/files', { key: c.keys.revoked })],
  [
    'call with a Basic Authorization header',
    401,
    null,
    (c) => raw(c, 'GET', '/v1/files', { key: null, headers: { authorization: 'Basic dXNlcjpwYXNz' } }),
  ],
  ['manage keys with a member key', 403, null, (c) => raw(c, 'GET', '/admin/api-keys')],
  [
    'import a model with a member key',
    403,
    null,
    (c) => raw(c, 'POST', '/admin/models/import', { body: json({ path: '/' }) }),
  ],
  ['call an unknown route', 404, null, (c) => raw(c, 'GET', '/v1/nothing-here')],
  ['call a known route with the wrong method', 404, null, (c) => raw(c, 'PUT', '/v1/files')],
  ['call a route with broken percent-encoding', 400, null, (c) => raw(c, 'GET', '/v1/files/%E0%A4%A')],
  [
    'validate a grader of an unknown type',
    400,
    'grader.type',
    (c) =>
      raw(c, 'POST', '/v1/fine_tuning/alpha/graders/validate', { body: json({ grader: { type: 'nope' } }) }),
  ],
  [
    'validate without a grader',
    400,
    'grader',
    (c) => raw(c, 'POST', '/v1/fine_tuning/alpha/graders/validate', { body: json({}) }),
  ],
];

/** Rows of every table a request could write, and every file under the data directory. */
async function footprint(api: TestApi): Promise<Record<string, number>> {
  const tables = [
    'organizations',
    'api_keys',
    'files',
    'models',
    'fine_tuning_jobs',
    'fine_tuning_events',
    'checkpoints',
  ];
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const rows = await queryDatabase<{ n: string }>(api.db.url, `SELECT count(*)::text AS n FROM ${table}`);
    counts[table] = Number(rows[0].n);
  }
  const entries = await readdir(api.dataDir, { recursive: true, withFileTypes: true }).catch(() => []);
  counts['blobs'] = entries.filter((e) => e.isFile()).length;
  return counts;
}

describe('bad input: every request below is refused with a 4xx naming its param, leaving nothing behind', () => {
  const ctx = {} as Context;
  const health: { status: number; ms: number }[] = [];
  let probing = true;
  let probe: Promise<void>;

  beforeAll(async () => {
    ctx.api = await startTestApi();
    ctx.admin = ctx.api.root(ctx.api.adminKey);
    const key = async (name: string, organization: string) =>
      (
        await ctx.admin.post<CreatedApiKey>('/admin/api-keys', {
          body: { name, role: 'member', organization_id: organization },
        })
      ).key;
    ctx.keys = { a: await key('a', 'org-a'), b: await key('b', 'org-b'), revoked: await key('r', 'org-a') };
    const revoked = await ctx.admin.get<{ data: { id: string; name: string }[] }>('/admin/api-keys', {
      query: { organization_id: 'org-a' },
    });
    const revokedId = revoked.data.find((k) => k.name === 'r')?.id ?? '';
    await ctx.admin.delete(`/admin/api-keys/${revokedId}`, { query: { organization_id: 'org-a' } });
    ctx.a = ctx.api.openai(ctx.keys.a);
    ctx.b = ctx.api.openai(ctx.keys.b);
    const file = async (lines: unknown[]) =>
      (
        await ctx.a.files.create({
          file: await toFile(Buffer.from(lines.map((l) => json(l)).join('\n')), 'd.jsonl'),
          purpose: 'fine-tune',
        })
      ).id;
    ctx.rftFile = await file([
      { messages, answer: '2' },
      { messages, answer: '3' },
    ]);
    ctx.chatFile = await file([{ messages: [...messages, { role: 'assistant', content: 'yo' }] }]);
    ctx.jobA = (
      await ctx.a.fineTuning.jobs.create(job(ctx) as unknown as OpenAI.FineTuning.JobCreateParams)
    ).id;
    probe = (async () => {
      while (probing) {
        const started = performance.now();
        const response = await fetch(`${ctx.api.url}/health`);
        health.push({ status: response.status, ms: performance.now() - started });
        await response.body?.cancel();
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
  });
  afterAll(async () => {
    probing = false;
    await probe;
    await ctx.api.close();
  });

  const cases = [...FILES, ...JOBS, ...CHAT, ...MODELS_AND_KEYS, ...AUTH_AND_ROUTING];

  it('should hold at least 100 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(100);
  });

  it.each(cases)('should refuse to %s with %d naming %s', async (_name, status, param, run) => {
    const before = await footprint(ctx.api);
    const answer = await run(ctx);
    expect({ status: answer.status, param: answer.error?.param }).toEqual({ status, param });
    expect(answer.error).toEqual({
      message: expect.any(String),
      type: expect.any(String),
      param,
      code: answer.error?.code === null ? null : expect.any(String),
    });
    expect(await footprint(ctx.api)).toEqual(before);
  });

  it('should have answered /health with 200 throughout', () => {
    expect(health.length).toBeGreaterThan(10);
    expect(health.filter((h) => h.status !== 200)).toEqual([]);
  });
});
