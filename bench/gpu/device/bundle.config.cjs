/**
 * One-file bundle of the GPU benchmark (bench/gpu/device/pack.sh):
 * `npx webpack -c bench/gpu/device/bundle.config.cjs` writes .device-gpu/gpu.js (bench/bundle.cjs), with the wasm,
 * cpu and webgpu tfjs backends.
 */
const { join } = require('node:path');

const benchBundle = require('../../bundle.cjs');

module.exports = benchBundle({
  entry: join(__dirname, '..', 'main.ts'),
  outDir: '.device-gpu',
  filename: 'gpu.js',
  swapRequireIn: /libs[\\/]model[\\/]src[\\/](backend|webgpu)\.ts$/,
  bundledRequire: join(__dirname, 'bundled-require.ts'),
});
