import baseConfig from '../../eslint.config.mjs';

// The api computes nothing: it never loads TensorFlow.js nor the libraries built on it. It inspects models through
// `@tracetune/model/metadata` and checks RL settings with `@tracetune/rl-core/config`, both free of tfjs.
const computeImports = {
  paths: [
    {
      name: '@tracetune/trainer',
      message: 'The api trains nothing; job settings live in @tracetune/contracts.',
    },
    { name: '@tracetune/model', message: 'Use @tracetune/model/metadata (no tfjs) in the api.' },
    { name: '@tracetune/rl-core', message: 'Use @tracetune/rl-core/config (no tfjs) in the api.' },
  ],
  patterns: [{ group: ['@tensorflow/*'], message: 'The api never loads TensorFlow.js.' }],
};

export default [
  ...baseConfig,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', computeImports] },
  },
];
