import baseConfig, { inferenceShell } from '../../eslint.config.mjs';

// The shell rules again with globs relative to this folder, where `nx lint` runs (see the root config).
export default [...baseConfig, { files: ['src/**/*.ts'], ...inferenceShell }];
