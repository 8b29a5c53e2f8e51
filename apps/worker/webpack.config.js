const { nodeApp } = require('../../tools/webpack/node-app');

// The training process runs in a child of the worker (src/training-process.ts); its code graders run on worker
// threads (libs/graders' pool), so a cancel or pause can kill them; its training threads run src/training-thread.ts.
module.exports = nodeApp(__dirname, 'worker', [
  { entryName: 'training-process', entryPath: './src/training-process.ts' },
  {
    entryName: 'grader-thread',
    entryPath: require.resolve('../../libs/graders/src/lib/pool/grader-thread.ts'),
  },
  { entryName: 'training-thread', entryPath: './src/training-thread.ts' },
]);
