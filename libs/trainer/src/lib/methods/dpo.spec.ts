import { resolveHyperparameters } from '@tracetune/contracts';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { tempDir, useBackend, writeJsonl, writeTinyModel } from '../../../test/helpers';
import type { StepMetrics, TrainingRunSpec } from '../contract';
import { parseJsonl, toSftExample } from '../data';
import { runTraining } from '../run-training';
import { toDpoPairs } from './dpo';

jest.setTimeout(90_000);

const pair = (question: string, good: string, bad: string): string =>
  JSON.stringify({
    input: { messages: [{ role: 'user', content: question }] },
    preferred_output: [{ role: 'assistant', content: good }],
    non_preferred_output: [{ role: 'assistant', content: bad }],
  });
const PAIRS = [pair('2+2?', '4', 'five'), pair('3+3?', '6', 'seven')].join('\n');

function dpoSpec(modelDir: string, steps: number): TrainingRunSpec {
  return {
    method: 'dpo',
    baseModel: { kind: 'directory', path: modelDir },
    trainingFile: writeJsonl(PAIRS),
    validationFile: writeJsonl(PAIRS),
    hyperparameters: {
      ...resolveHyperparameters('dpo', { batch_size: 2, n_epochs: steps }, 2),
      eval_interval: steps,
    },
    dpo: { beta: 0.1 },
    seed: 3,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    trainer: { baseLearningRate: 3e-3, lrSchedule: 'constant', warmupRatio: 0 },
  };
}

describe('DPO', () => {
  beforeAll(() => useBackend('wasm'));

  it('should split each answer from its prompt exactly where the chat template puts it', () => {
    const tokenizer = new ByteTokenizer();
    const [line] = parseJsonl(pair('2+2?', '4', 'five'), 'dpo', 'training_file');
    const [p] = toDpoPairs([line], tokenizer, 512, 'training_file');
    const full = toSftExample([...line.messages, line.preference!.chosen], tokenizer, 512);
    expect([...p.prompt, ...p.chosen]).toEqual([full.input[0], ...full.target]);
    expect(tokenizer.decode(p.rejected, { skipSpecialTokens: true }).trim()).toBe('five');
    expect(() => toDpoPairs([line], tokenizer, 4, 'training_file')).toThrow(/line 1: the prompt fills/);
  });

  it("should start at log 2 with zero rewards, raise the preferred answers' margin and log TRL's metrics", async () => {
    const steps: StepMetrics[] = [];
    const outcome = await runTraining(dpoSpec(writeTinyModel(2), 8), {
      checkpointRoot: tempDir('dpo'),
      callbacks: { onStep: (_s, _t, m) => void steps.push(m) },
    });
    expect(outcome.status).toBe('succeeded');
    expect(steps).toHaveLength(8);
    // The policy starts as the reference: every reward is 0 and the loss is log 2.
    expect(steps[0]['rewards/chosen']).toBeCloseTo(0, 5);
    expect(steps[0]['rewards/margins']).toBeCloseTo(0, 5);
    expect(steps[0]['loss']).toBeCloseTo(Math.log(2), 4);
    const last = steps[7];
    expect(last['rewards/margins']).toBeGreaterThan(0.05);
    expect(last['rewards/accuracies']).toBe(1);
    expect(last['loss']).toBeLessThan(Math.log(2) - 0.02);
    expect(last['rewards/chosen'] - last['rewards/rejected']).toBeCloseTo(last['rewards/margins'], 6);
    for (const key of ['logps/chosen', 'logps/rejected', 'grad_norm', 'learning_rate', 'trained_tokens'])
      expect(Number.isFinite(last[key])).toBe(true);
    expect(last['eval_rewards/accuracies']).toBe(1);
    expect(last['eval_rewards/margins']).toBeGreaterThan(0);
  });

  it('should refuse chat data as a DPO training file, naming the line', async () => {
    const spec = {
      ...dpoSpec(writeTinyModel(2), 1),
      trainingFile: writeJsonl(
        JSON.stringify({
          messages: [
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: 'x' },
          ],
        }),
      ),
    };
    await expect(runTraining(spec, { checkpointRoot: tempDir('dpo-bad') })).rejects.toMatchObject({
      code: 'invalid_training_data',
      message: expect.stringMatching(/training_file line 1: dpo fine-tuning needs a preference pair/),
    });
  });
});
