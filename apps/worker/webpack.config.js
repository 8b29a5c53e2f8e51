const { nodeApp } = require('../../tools/webpack/node-app');

// The training process runs in a child of the worker (src/training-process.ts).
module.exports = nodeApp(__dirname, 'worker', [
  { entryName: 'training-process', entryPath: './src/training-process.ts' },
]);
