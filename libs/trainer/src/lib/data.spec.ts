import { join } from 'node:path';

import { tempDir, writeJsonl } from '../../test/helpers';
import { TrainingError } from './contract';
import { DataStream, readJsonl } from './data';

describe('training data', () => {
  it('should visit every example once per epoch, in a seeded order that changes between epochs', () => {
    const stream = new DataStream(10, 3);
    const epoch0 = stream.take(0, 10);
    const epoch1 = stream.take(10, 10);
    expect([...epoch0].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([...Array(10).keys()]);
    expect(epoch1).not.toEqual(epoch0);
    expect(new DataStream(10, 3).take(7, 6)).toEqual([...epoch0.slice(7), ...epoch1.slice(0, 3)]);
    expect(new DataStream(10, 4).take(0, 10)).not.toEqual(epoch0);
  });

  it('should name the line of invalid JSON and of lines unusable for the method', async () => {
    const good = JSON.stringify({ messages: [{ role: 'user', content: 'q' }], answer: '1' });
    const sft = JSON.stringify({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    });
    const fail = async (text: string, method: 'reinforcement' | 'supervised'): Promise<TrainingError> => {
      const error = await readJsonl(writeJsonl(text), method, 'training_file').catch((e: unknown) => e);
      if (!(error instanceof TrainingError)) throw new Error('expected a TrainingError');
      return error;
    };
    expect((await fail(`${good}\n{oops\n`, 'reinforcement')).message).toMatch(
      /^training_file line 2: invalid JSON/,
    );
    expect((await fail(`${good}\n\n${sft}\n`, 'reinforcement')).message).toMatch(
      /^training_file line 3: reinforcement fine-tuning needs a prompt/,
    );
    expect((await fail(`${good}\n`, 'supervised')).code).toBe('invalid_training_data');
    expect((await fail('\n', 'supervised')).message).toMatch(/no examples/);
    expect(await readJsonl(writeJsonl(`${good}\r\n${good}`), 'reinforcement', 'training_file')).toHaveLength(
      2,
    );
  });

  it('should report a training file it cannot read as invalid_training_data naming the file', async () => {
    const missing = join(tempDir('data'), 'gone.jsonl');
    const error = await readJsonl(missing, 'supervised', 'validation_file').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as TrainingError).param).toBe('validation_file');
    expect((error as TrainingError).message).toMatch(/validation_file: cannot read .*gone\.jsonl/);
  });
});
