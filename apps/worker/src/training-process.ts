/**
 * The training process: a child of the worker that runs libs/trainer with all its compute, so the worker's event
 * loop stays free to renew the queue lock and write progress. It speaks only the protocol in protocol.ts over IPC,
 * and exits when its parent goes away.
 */
import { join } from 'node:path';

import { adapterSummary, setupBackend } from '@tracetune/model';
import { runTraining, TrainingError, type ControlSignal } from '@tracetune/trainer';

import type { ChildMessage, ParentMessage } from './app/training/protocol';

let control: ControlSignal = 'continue';
let controlWaiters: (() => void)[] = [];

/**
 * After each step the parent persists it and answers with the job's current control signal; waiting for that answer
 * makes cancel and pause take effect at the very next step boundary. The timeout keeps a slow database from stalling
 * training (the parent's periodic control message still arrives).
 */
function nextControl(timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    controlWaiters.push(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Sends a report and then yields to the event loop once, so control messages from the parent (pause, cancel) are
 * received between steps even though training itself never waits on I/O.
 */
function send(message: ChildMessage): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  }).then(() => new Promise<void>((resolve) => setImmediate(resolve)));
}

process.on('disconnect', () => process.exit(70));

process.on('message', (message: ParentMessage) => {
  if (message.type === 'control') {
    control = message.signal;
    const waiters = controlWaiters;
    controlWaiters = [];
    waiters.forEach((wake) => wake());
    return;
  }
  void start(message).then(
    () => process.exit(0),
    async (error: unknown) => {
      const failure =
        error instanceof TrainingError
          ? { code: error.code, message: error.message, param: error.param, step: error.step }
          : {
              code: /out of memory|Array buffer allocation failed|allocation/i.test(
                String((error as Error)?.message),
              )
                ? 'out_of_memory'
                : 'training_failed',
              message: (error as Error)?.message ?? String(error),
              param: null,
              step: null,
            };
      await send({ type: 'failure', ...failure });
      process.exit(1);
    },
  );
});

async function start(message: Extract<ParentMessage, { type: 'start' }>): Promise<void> {
  const backend = await setupBackend(message.backend);
  const adapter = backend.adapter ? `; adapter ${adapterSummary(backend.adapter)}` : '';
  await send({ type: 'ready', backend: backend.backend, reason: `${backend.reason}${adapter}` });
  const outcome = await runTraining(message.spec, {
    ...message.options,
    // The bundled entry of the training threads (webpack.config.js), next to this script.
    threadEntry: join(__dirname, 'training-thread.js'),
    callbacks: {
      onStep: async (step, totalSteps, metrics) => {
        const answered = nextControl();
        await send({ type: 'step', step, totalSteps, metrics });
        await answered;
      },
      onEvent: (level, text, data) => send({ type: 'event', level, message: text, data }),
      onSamples: (step, samples) => send({ type: 'samples', step, samples }),
      onCheckpoint: (checkpoint) => send({ type: 'checkpoint', checkpoint }),
      control: () => control,
    },
  });
  await send({ type: 'outcome', outcome });
}
