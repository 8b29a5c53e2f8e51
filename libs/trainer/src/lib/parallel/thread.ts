/**
 * A training thread: its own tfjs backend and model replica (and reference model when β > 0). It samples, scores
 * reference log-probs and computes gradients for the work the main thread hands it, reading the current weights from
 * the shared buffer the main thread publishes after every update. It never updates weights itself.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

import { setupBackend, type BackendChoice, type TransformerModel } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { TrainingError } from '../contract';
import { addLoraAdapters, loadBaseModel, trainableVariables } from '../policy';
import { microBatchLoss, sampleGroups, type RlMicroBatch } from '../rl';
import { completionLogProbs } from '../sequences';
import { sftLoss } from '../sft';
import type {
  FromThread,
  RlShardGradient,
  SampledRow,
  SftPartGradient,
  ThreadSetup,
  ToThread,
} from './protocol';

interface Replica {
  setup: ThreadSetup;
  model: TransformerModel;
  tokenizer: Tokenizer;
  reference: TransformerModel | null;
  /** The trainable variables in slot order. */
  vars: tf.Variable[];
  view: Float32Array;
  version: number;
}

function openReplica(setup: ThreadSetup): Replica {
  const { model, tokenizer } = loadBaseModel(setup.baseModel, setup.seed);
  if (setup.lora) addLoraAdapters(model, setup.lora, setup.seed);
  const byName = new Map(trainableVariables(model).map((t) => [t.name, t.variable]));
  const vars = setup.slots.map((slot) => {
    const v = byName.get(slot.name);
    if (!v || v.size !== slot.size)
      throw new Error(`the replica has no trainable "${slot.name}" of ${slot.size}`);
    return v;
  });
  const reference = setup.reference ? loadBaseModel(setup.baseModel, setup.seed).model : null;
  return { setup, model, tokenizer, reference, vars, view: new Float32Array(setup.weights), version: -1 };
}

/** Copies the published weights into the replica when they changed since the last task. */
function sync(r: Replica, version: number): void {
  if (version === r.version) return;
  r.setup.slots.forEach((slot, i) =>
    tf.tidy(() =>
      r.vars[i].assign(tf.tensor(r.view.slice(slot.offset, slot.offset + slot.size), slot.shape)),
    ),
  );
  r.version = version;
}

/** The gradient of `loss` with respect to every trainable, concatenated in slot order; returns the loss value. */
function flatGradient(r: Replica, loss: () => tf.Scalar): { grads: Float32Array; value: number } {
  const { value, grads } = tf.variableGrads(loss, r.vars);
  const out = new Float32Array(r.view.length);
  r.setup.slots.forEach((slot, i) => {
    const g = grads[r.vars[i].name];
    if (g) out.set(g.dataSync() as Float32Array, slot.offset);
  });
  const v = value.dataSync()[0];
  tf.dispose([value, grads]);
  return { grads: out, value: v };
}

async function rlGradients(
  r: Replica,
  m: Extract<ToThread, { type: 'rl-grads' }>,
): Promise<RlShardGradient[]> {
  const out: RlShardGradient[] = [];
  for (const { batch, scale } of m.shards) {
    const inner: { loss?: ReturnType<typeof microBatchLoss> } = {};
    const { grads } = flatGradient(r, () => {
      inner.loss = microBatchLoss(r.model, batch as RlMicroBatch, r.setup.config as never, {
        training: true,
        entropy: m.onPolicy,
        temperature: m.temperature,
      });
      return tf.mul(inner.loss.result.loss, scale) as tf.Scalar;
    });
    const { result, entropySum } = inner.loss as ReturnType<typeof microBatchLoss>;
    const stats = await result.readStats();
    out.push({ grads, stats, entropySum: entropySum ? entropySum.dataSync()[0] : null });
    entropySum?.dispose();
  }
  return out;
}

function sample(r: Replica, m: Extract<ToThread, { type: 'sample' }>): SampledRow[] {
  const rows = sampleGroups(r.model, r.tokenizer, m.prompts, m.settings);
  return rows.map(({ group, tokens, logpOld, text, clipped }) => ({ group, tokens, logpOld, text, clipped }));
}

async function handle(r: Replica, m: ToThread): Promise<unknown> {
  sync(r, m.version);
  switch (m.type) {
    case 'sample':
      return sample(r, m);
    case 'reference':
      return m.batches.map((b) => {
        const logp = completionLogProbs(r.reference as TransformerModel, b, {
          temperature: m.temperature,
        }).logProbs;
        const rows = logp.arraySync();
        logp.dispose();
        return rows;
      });
    case 'rl-grads':
      return rlGradients(r, m);
    case 'sft-grads':
      return m.parts.map((part): SftPartGradient => {
        const { grads, value } = flatGradient(r, () => sftLoss(r.model, part, m.normaliser, true));
        return { grads, loss: value };
      });
    case 'sft-eval':
      return m.parts.map((part) => {
        const value = tf.tidy(() => sftLoss(r.model, part, m.normaliser));
        const v = value.dataSync()[0];
        value.dispose();
        return v;
      });
  }
}

function failure(id: number, e: unknown): FromThread {
  const t = e instanceof TrainingError ? e : null;
  return {
    type: 'failure',
    id,
    failure: {
      message: (e as Error)?.message ?? String(e),
      code: t?.code ?? null,
      param: t?.param ?? null,
      step: t?.step ?? null,
    },
  };
}

/** Buffers that travel by transfer, not copy: the gradients. */
function transferList(value: unknown): ArrayBuffer[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((x) => (x && x.grads instanceof Float32Array ? [x.grads.buffer as ArrayBuffer] : []));
}

/** The thread's main: set up the backend and the replica, then answer tasks one at a time. */
export async function runTrainingThread(): Promise<void> {
  const port = parentPort as MessagePort;
  if (!port) throw new Error('runTrainingThread must run in a worker thread');
  const setup = workerData as ThreadSetup;
  let replica: Replica;
  try {
    await setupBackend(setup.backend as BackendChoice);
    replica = openReplica(setup);
  } catch (e) {
    port.postMessage(failure(-1, e));
    return;
  }
  let chain = Promise.resolve();
  port.on('message', (m: ToThread) => {
    chain = chain.then(() =>
      handle(replica, m).then(
        (value) =>
          port.postMessage({ type: 'result', id: m.id, value } satisfies FromThread, transferList(value)),
        (e: unknown) => port.postMessage(failure(m.id, e)),
      ),
    );
  });
  port.postMessage({ type: 'ready' } satisfies FromThread);
}
