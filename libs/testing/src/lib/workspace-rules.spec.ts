import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

import { WORKSPACE_ROOT } from './test-database';

/**
 * The dependency table of docs/architecture.md is enforced by lint. These tests prove the rules bite: a math library importing
 * NestJS, or an app reading process.env, fails lint. Nothing is written to disk: the real ESLint CLI lints the text
 * from stdin as if it lived at the given path (a child process, because ESLint loads its config with import()).
 */
describe('workspace lint rules', () => {
  /** Lints `code` as the file `filePath`, from `cwd` (a project's folder picks up its own eslint config, as nx does). */
  async function lint(filePath: string, code: string, cwd = ''): Promise<string[]> {
    const result = spawnSync(
      join(WORKSPACE_ROOT, 'node_modules', '.bin', 'eslint'),
      ['--stdin', '--stdin-filename', join(WORKSPACE_ROOT, filePath), '--format', 'json'],
      { cwd: join(WORKSPACE_ROOT, cwd), input: code, encoding: 'utf8' },
    );
    const [report] = JSON.parse(result.stdout) as { messages: { ruleId: string; message: string }[] }[];
    return report.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('should fail when a math library imports @nestjs/common', async () => {
    const messages = await lint(
      'libs/rl-core/src/lib/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const probe = Injectable;\n",
    );
    expect(messages).toEqual([
      expect.stringMatching(/^@nx\/enforce-module-boundaries: .*"type:math".*"@nestjs\/common"/),
    ]);
  }, 60_000);

  it('should fail when a math library imports Prisma or Bull', async () => {
    const messages = await lint(
      'libs/graders/src/lib/probe.ts',
      "import Bull from 'bull';\nexport const probe = Bull;\n",
    );
    expect(messages).toEqual([expect.stringContaining('@nx/enforce-module-boundaries')]);
  }, 60_000);

  it('should accept the same import in an app', async () => {
    const messages = await lint(
      'apps/api/src/app/probe.ts',
      "import { Injectable } from '@nestjs/common';\nexport const probe = Injectable;\n",
    );
    expect(messages).toEqual([]);
  }, 60_000);

  it('should fail when the api imports the trainer or tfjs, and accept the tfjs-free entry points', async () => {
    const messages = await lint(
      'apps/api/src/app/probe.ts',
      [
        "import { runTraining } from '@tracetune/trainer';",
        "import * as tf from '@tensorflow/tfjs-core';",
        "import { checkRlConfig } from '@tracetune/rl-core/config';",
        "import { parameterCount } from '@tracetune/model/metadata';",
        'export const probe = [runTraining, tf, checkRlConfig, parameterCount];',
        '',
      ].join('\n'),
      'apps/api',
    );
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-imports: '@tracetune\/trainer'/),
      expect.stringMatching(/^no-restricted-imports: '@tensorflow\/tfjs-core'/),
    ]);
  }, 60_000);

  it('should fail when a trainer function grows past 80 lines', async () => {
    const body = Array.from({ length: 80 }, (_, i) => `  total += ${i};`).join('\n');
    const code = `export function long(): number {\n  let total = 0;\n${body}\n  return total;\n}\n`;
    const messages = await lint('libs/trainer/src/lib/probe.ts', code, 'libs/trainer');
    expect(messages).toEqual([expect.stringMatching(/^max-lines-per-function: /)]);
  }, 60_000);

  it('should fail when code outside libs/config reads process.env', async () => {
    const messages = await lint('apps/worker/src/app/probe.ts', 'export const port = process.env.PORT;\n');
    expect(messages).toEqual([expect.stringContaining('no-restricted-properties')]);
  }, 60_000);

  it('should fail when apps/inference defines a scheduler or reaches past libs/serving into the model', async () => {
    const messages = await lint(
      'apps/inference/src/app/probe.ts',
      [
        "import { createDecodeBatch } from '@tracetune/model';",
        'export class Scheduler {',
        '  readonly batch = createDecodeBatch;',
        '}',
        '',
      ].join('\n'),
    );
    expect(messages).toEqual([
      expect.stringMatching(/^no-restricted-imports: .*createDecodeBatch/),
      expect.stringMatching(/^no-restricted-syntax: .*libs\/serving/),
    ]);
  }, 60_000);

  it('should accept backend setup and @tracetune/serving in apps/inference', async () => {
    const messages = await lint(
      'apps/inference/src/app/probe.ts',
      [
        "import { setupBackend } from '@tracetune/model';",
        "import { Scheduler } from '@tracetune/serving';",
        'export const probe = [setupBackend, Scheduler];',
        '',
      ].join('\n'),
    );
    expect(messages).toEqual([]);
  }, 60_000);
});
