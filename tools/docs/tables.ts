/**
 * `npm run docs:tables`: writes the generated tables of the docs from the tables in the code, between
 * `<!-- table: NAME -->` and `<!-- /table -->` markers, then formats the files with prettier. Specs fail when a
 * docs table and its source disagree (libs/contracts: fine-tuning settings; libs/rl-core: the RL config options).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { settingsTable } from '@tracetune/contracts';
import { rlConfigOptionsTable } from '@tracetune/rl-core/config';

const ROOT = join(__dirname, '..', '..');

const TABLES: Record<string, { file: string; render: () => string }> = {
  'settings.hyperparameters': { file: 'docs/fine-tuning.md', render: () => settingsTable('hyperparameters') },
  'settings.algorithm': { file: 'docs/fine-tuning.md', render: () => settingsTable('algorithm') },
  'settings.lora': { file: 'docs/fine-tuning.md', render: () => settingsTable('lora') },
  'settings.dpo': { file: 'docs/fine-tuning.md', render: () => settingsTable('dpo') },
  'rl-core.options': { file: 'docs/rl-core.md', render: rlConfigOptionsTable },
};

const files = new Set<string>();
for (const [name, { file, render }] of Object.entries(TABLES)) {
  const path = join(ROOT, file);
  const text = readFileSync(path, 'utf8');
  const pattern = new RegExp(`(<!-- table: ${name.replace('.', '\\.')} -->\\n)[\\s\\S]*?(<!-- /table -->)`);
  if (!pattern.test(text))
    throw new Error(`${file} has no "<!-- table: ${name} -->" … "<!-- /table -->" block`);
  writeFileSync(
    path,
    text.replace(pattern, (_m, open: string, close: string) => `${open}\n${render()}\n\n${close}`),
  );
  files.add(path);
}
execFileSync(join(ROOT, 'node_modules', '.bin', 'prettier'), ['--write', ...files], { stdio: 'inherit' });
