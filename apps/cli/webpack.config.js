const { nodeApp } = require('../../tools/webpack/node-app');

// Training from the CLI grades with libs/graders' pool, whose threads run this bundle's grader-thread.js.
module.exports = nodeApp(__dirname, 'cli', [
  {
    entryName: 'grader-thread',
    entryPath: require.resolve('../../libs/graders/src/lib/pool/grader-thread.ts'),
  },
]);
