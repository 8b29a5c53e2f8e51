import { TransformerModel } from '@tracetune/model';

import { algorithm, tinyByteConfig, useBackend } from '../../test/helpers';
import { rlConfigFor, type Rollout } from './rl';
import { clipMarks } from './sample-log';
import { completionLogProbs, packBatch } from './sequences';

jest.setTimeout(60_000);

describe('clipMarks', () => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend('wasm');
    model = TransformerModel.random(tinyByteConfig(), 3);
  });
  afterAll(() => model.dispose());

  /** A rollout whose old log-probs are the model's own, shifted per token by `shift` (ratio = e^−shift). */
  function rollout(shift: number[]): Rollout {
    const prompt = [10, 11, 12];
    const tokens = [40, 41, 42];
    const logp = completionLogProbs(model, packBatch([{ prompt, completion: tokens }])).logProbs;
    const now = (logp.arraySync() as number[][])[0];
    logp.dispose();
    return {
      group: 0,
      prompt,
      promptText: '',
      tokens,
      logpOld: now.map((v, t) => v + shift[t]),
      text: '',
      clipped: false,
      graded: { reward: 0, subScores: {}, error: false },
    };
  }

  it('should mark a ratio above 1 + ε with Ã > 0 and below 1 − ε with Ã < 0, token by token (GRPO)', () => {
    const config = rlConfigFor(algorithm({ name: 'grpo' }), { compute_multiplier: 1 });
    // Ratios e^1, 1, e^−1: only the first can be cut for Ã > 0, only the last for Ã < 0.
    const rows = [rollout([-1, 0, 1]), rollout([-1, 0, 1])];
    expect(clipMarks(model, rows, [0.5, -0.5], config)).toEqual([
      [1, 0, 0],
      [0, 0, -1],
    ]);
  });

  it('should mark the traced ratio under GRPO-λ: never below for Ã > 0, above where the large log-ratio is', () => {
    const config = rlConfigFor(algorithm({ name: 'grpo_lambda' }), { compute_multiplier: 1 });
    const [marks] = clipMarks(model, [rollout([-1, 0, 0])], [0.5], config);
    expect(marks[0]).toBe(1);
    expect(marks.every((m) => m === 0 || m === 1)).toBe(true);
  });
});
