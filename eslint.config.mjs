import nx from '@nx/eslint-plugin';

// Framework and infrastructure packages that the pure math libraries must never import (docs/architecture.md, "Libraries and boundaries").
const frameworkImports = [
  '@nestjs/*',
  '@prisma/*',
  'bull',
  'ioredis',
  'pg',
  'express',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
];

/**
 * apps/inference is a shell of HTTP, engine threads and config. Scheduling, caching, batching, tokenization and
 * constrained decoding live in libs/serving, framework-free and tested there: the app reaches the model only to choose
 * the tfjs backend of an engine thread, and defines no scheduler, batch, cache or sampler of its own. Shared with
 * apps/inference/eslint.config.mjs, which `nx lint` runs from the app's folder (flat-config globs are relative to it).
 */
export const inferenceShell = {
  rules: {
    'no-restricted-imports': [
      'error',
      {
        paths: [
          {
            name: '@tracetune/model',
            allowImportNames: ['setupBackend', 'describeBackend', 'BackendChoice'],
            message:
              'apps/inference only chooses the backend; serving logic goes through @tracetune/serving.',
          },
          {
            name: '@tracetune/tokenizer',
            message: 'Tokenization is serving logic: it belongs in libs/serving.',
          },
        ],
        patterns: [
          { group: ['@tensorflow/*'], message: 'Model compute belongs in libs/model and libs/serving.' },
        ],
      },
    ],
    'no-restricted-syntax': [
      'error',
      {
        selector: 'ClassDeclaration[id.name=/Schedul|Batch|Cache|Sampl|Constraint|Automaton/]',
        message:
          'Scheduling, batching, caching and sampling belong in libs/serving; apps/inference only wires them.',
      },
    ],
  },
};

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/generated', 'tmp', 'coverage', '**/vite.config.*.timestamp*'],
  },
  {
    files: ['**/src/**/*.ts', '**/src/**/*.tsx', '**/src/**/*.js', '**/src/**/*.jsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: [],
          depConstraints: [
            // The dependency table of docs/architecture.md, one row per library.
            { sourceTag: 'lib:config', onlyDependOnLibsWithTags: ['lib:contracts'] },
            { sourceTag: 'lib:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:storage', onlyDependOnLibsWithTags: ['lib:testing'] },
            { sourceTag: 'lib:testing', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:metrics', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:db', onlyDependOnLibsWithTags: ['lib:contracts', 'lib:config', 'lib:testing'] },
            { sourceTag: 'lib:tokenizer', onlyDependOnLibsWithTags: [] },
            // The tfjs-core gradient registrations that model and rl-core share (neither may import the other).
            { sourceTag: 'lib:tfjs-gradients', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:rl-core', onlyDependOnLibsWithTags: ['lib:tfjs-gradients'] },
            { sourceTag: 'lib:graders', onlyDependOnLibsWithTags: [] },
            {
              sourceTag: 'lib:model',
              onlyDependOnLibsWithTags: ['lib:tokenizer', 'lib:tfjs-gradients', 'lib:contracts'],
            },
            { sourceTag: 'lib:serving', onlyDependOnLibsWithTags: ['lib:model', 'lib:tokenizer'] },
            {
              sourceTag: 'lib:trainer',
              onlyDependOnLibsWithTags: [
                'lib:rl-core',
                'lib:model',
                'lib:tokenizer',
                'lib:graders',
                'lib:contracts',
              ],
            },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            // Math libraries are framework-free: no NestJS, Prisma, Bull, drivers or native tfjs backends.
            { sourceTag: 'type:math', bannedExternalImports: frameworkImports },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // One env schema, validated at boot; nothing but libs/config reads process.env (docs/architecture.md).
    files: ['**/src/**/*.ts', '**/src/**/*.tsx'],
    // libs/config (the reader) and libs/testing (which hands child processes an environment) turn it off locally.
    ignores: ['**/*.spec.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message:
            'Read configuration through @tracetune/config (Config.get); only libs/config reads process.env.',
        },
      ],
    },
  },
  { files: ['apps/inference/src/**/*.ts'], ...inferenceShell },
  {
    files: ['**/*.spec.ts', '**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
