const { nodeApp } = require('../../tools/webpack/node-app');

// Code graders run on worker threads (libs/graders' pool), never on the HTTP event loop.
module.exports = nodeApp(__dirname, 'api', [
  {
    entryName: 'grader-thread',
    entryPath: require.resolve('../../libs/graders/src/lib/pool/grader-thread.ts'),
  },
]);
