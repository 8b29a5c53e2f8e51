const { nodeApp } = require('../../tools/webpack/node-app');

// Model compute runs on a worker thread (src/engine-thread.ts), never on the HTTP event loop.
module.exports = nodeApp(__dirname, 'inference', [
  { entryName: 'engine-thread', entryPath: './src/engine-thread.ts' },
]);
