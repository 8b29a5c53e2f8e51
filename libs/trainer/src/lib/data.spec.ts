import { TrainingError } from './contract';
import { DataStream, parseLines } from './data';

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

  it('should name the line of invalid JSON and of lines unusable for the method', () => {
    const good = JSON.stringify({ messages: [{ role: 'user', content: 'q' }], answer: '1' });
    const sft = JSON.stringify({
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'a' },
      ],
    });
    const fail = (text: string, method: 'reinforcement' | 'supervised'): TrainingError => {
      try {
        parseLines(text, method, 'training_file');
      } catch (e) {
        return e as TrainingError;
      }
      throw new Error('expected a TrainingError');
    };
    expect(fail(`${good}\n{oops\n`, 'reinforcement').message).toMatch(/^training_file line 2: invalid JSON/);
    expect(fail(`${good}\n\n${sft}\n`, 'reinforcement').message).toMatch(
      /^training_file line 3: reinforcement fine-tuning needs a prompt/,
    );
    expect(fail(`${good}\n`, 'supervised').code).toBe('invalid_training_data');
    expect(fail('\n', 'supervised').message).toMatch(/no examples/);
    expect(parseLines(`${good}\n${good}\n`, 'reinforcement', 'training_file')).toHaveLength(2);
  });
});
