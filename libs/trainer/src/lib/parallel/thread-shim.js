// Runs a training thread from the TypeScript sources (jest, ts-node benchmarks): registers ts-node and the
// workspace's path aliases, then starts thread.ts. Built apps point the trainer at their bundled entry instead.
const { existsSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');

// Jest under Nx exports TS_NODE_COMPILER_OPTIONS (moduleResolution node10, an error under TypeScript 6); the thread
// compiles with the workspace's own settings instead.
delete process.env.TS_NODE_COMPILER_OPTIONS;
let root = __dirname;
while (!existsSync(join(root, 'tsconfig.base.json'))) root = dirname(root);
const base = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8'));
require('ts-node').register({
  transpileOnly: true,
  project: join(root, 'tsconfig.base.json'),
  compilerOptions: { module: 'commonjs' },
});
require('tsconfig-paths').register({ baseUrl: root, paths: base.compilerOptions.paths });
require('./thread.ts')
  .runTrainingThread()
  .catch((e) => {
    throw e;
  });
