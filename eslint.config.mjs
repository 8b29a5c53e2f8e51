import nx from '@nx/eslint-plugin';

// Framework and infrastructure packages that the pure math libraries must never import (DESIGN.md, "Libraries").
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
            // The dependency table of DESIGN.md, one row per library.
            { sourceTag: 'lib:config', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:contracts', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:storage', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:testing', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:db', onlyDependOnLibsWithTags: ['lib:contracts', 'lib:config', 'lib:testing'] },
            { sourceTag: 'lib:tokenizer', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:rl-core', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:graders', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'lib:model', onlyDependOnLibsWithTags: ['lib:tokenizer'] },
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
    // STYLE.md rule 3: one env schema, validated at boot; nothing but libs/config reads process.env.
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
  {
    files: ['**/*.spec.ts', '**/*.test.ts', '**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
];
