import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  // This library is where the environment is read on purpose (see the no-restricted-properties rule at the root).
  { files: ['**/*.ts'], rules: { 'no-restricted-properties': 'off' } },
];
