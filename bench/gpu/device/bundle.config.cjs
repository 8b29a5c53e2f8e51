/**
 * One-file bundle of the GPU benchmark for machines without Node.js modules (bench/gpu/device/pack.sh):
 * `npx webpack -c bench/gpu/device/bundle.config.cjs` writes .device-gpu/gpu.js. Modules resolve as under
 * ts-node (CommonJS `main` entries), so the bundle runs the same code as the benchmark run here.
 */
const { join } = require('node:path');
const webpack = require('webpack');
const { TsconfigPathsPlugin } = require('tsconfig-paths-webpack-plugin');

const root = join(__dirname, '../../..');
const tsconfig = join(root, 'tsconfig.bench.json');

module.exports = {
  mode: 'production',
  target: 'node',
  context: root,
  entry: join(__dirname, '..', 'main.ts'),
  output: { path: join(root, '.device-gpu'), filename: 'gpu.js', clean: false },
  devtool: false,
  optimization: { minimize: false },
  // The real __dirname of the bundle at run time: bundled-require.ts finds the .wasm files next to it.
  node: { __dirname: false, __filename: false },
  resolve: {
    extensions: ['.ts', '.js', '.json'],
    mainFields: ['main'],
    conditionNames: ['require', 'node', 'default'],
    plugins: [new TsconfigPathsPlugin({ configFile: tsconfig })],
  },
  module: {
    rules: [
      {
        test: /\.ts$/,
        exclude: /node_modules/,
        use: [
          {
            loader: 'ts-loader',
            options: { transpileOnly: true, configFile: tsconfig, compilerOptions: { noEmit: false } },
          },
        ],
      },
      {
        test: /libs[\\/]model[\\/]src[\\/](backend|webgpu)\.ts$/,
        enforce: 'pre',
        use: [{ loader: join(__dirname, 'bundle-require-loader.cjs') }],
      },
    ],
  },
  plugins: [
    // One file: lazily imported modules (the javascript grader's sandbox) go into the bundle too.
    new webpack.optimize.LimitChunkCountPlugin({ maxChunks: 1 }),
    // node-fetch (via tfjs-core) tries this optional package in a try/catch.
    new webpack.IgnorePlugin({ resourceRegExp: /^encoding$/, contextRegExp: /node-fetch/ }),
  ],
  performance: { hints: false },
};
