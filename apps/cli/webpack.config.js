const { nodeApp } = require('../../tools/webpack/node-app');

// Training from the CLI grades with libs/graders' pool, whose threads run this bundle's grader-thread.js;
// `train --threads N` runs training threads on src/training-thread.ts.
module.exports = nodeApp(__dirname, 'cli', [
  {
    entryName: 'grader-thread',
    entryPath: require.resolve('../../libs/graders/src/lib/pool/grader-thread.ts'),
  },
  { entryName: 'training-thread', entryPath: './src/training-thread.ts' },
]);
