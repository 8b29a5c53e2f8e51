/**
 * One-file bundle of the learning benchmark (bench/learning/pack.sh):
 * `npx webpack -c bench/learning/bundle.config.cjs` writes .device-learning/learning.js (bench/bundle.cjs).
 */
const { join } = require('node:path');

const benchBundle = require('../bundle.cjs');

module.exports = benchBundle({
  entry: join(__dirname, 'main.ts'),
  outDir: '.device-learning',
  filename: 'learning.js',
  swapRequireIn: /libs[\\/]model[\\/]src[\\/]backend\.ts$/,
  bundledRequire: join(__dirname, 'bundled-require.ts'),
});
