import { ByteTokenizer } from '@tracetune/tokenizer';

import { tempDir, useBackend, writeJsonl, writeTinyModel } from '../../test/helpers';
import type { StepMetrics, TrainingRunSpec } from './contract';
import { checkToolSupport, toSftExample } from './data';
import { runTraining } from './run-training';
import { generateArithmetic, toJsonl } from './tasks';

jest.setTimeout(60_000);

describe('supervised fine-tuning', () => {
  beforeAll(() => useBackend('wasm'));

  it('should put loss on assistant tokens only, and none on weight-0 messages', () => {
    const tokenizer = new ByteTokenizer();
    const ex = toSftExample(
      [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'AB', weight: 0 },
        { role: 'user', content: 'again' },
        { role: 'assistant', content: 'CD' },
      ],
      tokenizer,
      1000,
    );
    const trained = ex.target.filter((_, t) => ex.lossMask[t] === 1);
    // "CD", the end-of-turn token <|im_end|> (260) and the template's newline after it.
    expect(tokenizer.decode(trained)).toBe('CD<|im_end|>\n');
    expect(ex.input.length).toBe(ex.target.length);
    expect(ex.target.slice(0, -1)).toEqual(ex.input.slice(1));
  });

  it('should train on tool calls as the chat template renders them, and refuse them when it cannot', () => {
    const tokenizer = new ByteTokenizer();
    const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
    const messages = [
      { role: 'user' as const, content: '1+2?' },
      {
        role: 'assistant' as const,
        content: '',
        tool_calls: [
          { id: 'c1', type: 'function' as const, function: { name: 'add', arguments: { a: 1, b: 2 } } },
        ],
      },
    ];
    checkToolSupport(tokenizer, messages, tools, 'training_file line 3');
    const ex = toSftExample(messages, tokenizer, 1000, tools);
    const trained = tokenizer.decode(ex.target.filter((_, t) => ex.lossMask[t] === 1));
    expect(trained).toBe(
      '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call><|im_end|>\n',
    );
    expect(tokenizer.decode(ex.input)).toContain('# Tools');
    const plain = Object.assign(Object.create(tokenizer) as ByteTokenizer, {
      applyChatTemplate: (ms: { role: string; content: string }[]) =>
        ms.map((m) => `${m.role}:${m.content}\n`).join(''),
    });
    expect(() => checkToolSupport(plain, messages, tools, 'training_file line 3')).toThrow(
      /training_file line 3: the model's chat template does not render tool_calls/,
    );
  });

  it('should reduce the training and validation loss on a tiny chat set', async () => {
    const problems = generateArithmetic({ n: 16, seed: 1, difficulty: 'short' });
    const spec: TrainingRunSpec = {
      method: 'supervised',
      baseModel: { kind: 'directory', path: writeTinyModel(3) },
      trainingFile: writeJsonl(toJsonl(problems, 'sft')),
      validationFile: writeJsonl(toJsonl(problems.slice(0, 4), 'sft')),
      hyperparameters: {
        n_epochs: 3,
        batch_size: 4,
        learning_rate_multiplier: 1,
        eval_interval: 1,
        eval_samples: 0,
        compute_multiplier: 1,
      },
      seed: 1,
      checkpointInterval: 0,
      sampleInterval: 0,
      passThreshold: 1,
      trainer: { baseLearningRate: 1e-2, sftMicroBatchSize: 2 },
    };
    const steps: StepMetrics[] = [];
    const outcome = await runTraining(spec, {
      checkpointRoot: tempDir('sft'),
      callbacks: { onStep: (_s, _t, m) => void steps.push(m) },
    });
    expect(outcome.status).toBe('succeeded');
    expect(steps).toHaveLength(12);
    expect(steps[0]['loss']).toBe(steps[0]['train_loss']);
    expect(steps[11]['eval_loss']).toBeLessThan(steps[0]['eval_loss'] * 0.8);
    const early = (steps[0]['train_loss'] + steps[1]['train_loss']) / 2;
    const late = (steps[10]['train_loss'] + steps[11]['train_loss']) / 2;
    expect(late).toBeLessThan(early * 0.8);
    for (const m of steps)
      for (const k of ['learning_rate', 'grad_norm', 'tokens_per_second', 'step_time'])
        expect(Number.isFinite(m[k])).toBe(true);
  });
});
