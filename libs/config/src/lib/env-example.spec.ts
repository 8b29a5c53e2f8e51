import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { envSchema } from './env.schema';

describe('.env.example', () => {
  it('should document every variable of the env schema', () => {
    const example = readFileSync(join(__dirname, '..', '..', '..', '..', '.env.example'), 'utf8');
    const missing = Object.keys(envSchema.shape).filter(
      (name) => !new RegExp(`^# ${name}=`, 'm').test(example),
    );
    expect(missing).toEqual([]);
  });
});
