/**
 * The webpack config of a one-file benchmark bundle for machines without Node.js modules (the device packs of
 * bench/learning and bench/gpu). Modules resolve as under ts-node (CommonJS `main` entries), so a bundle runs the same
 * code as the benchmark run here; bundle-require-loader.cjs swaps the runtime `eval('require')` of optional backends in the
 * files `swapRequireIn` matches for the pack's `bundledRequire` module.
 */
const { join } = require('node:path');
const webpack = require('webpack');
const { TsconfigPathsPlugin } = require('tsconfig-paths-webpack-plugin');

const root = join(__dirname, '..');
const tsconfig = join(root, 'tsconfig.bench.json');

/** @param {{ entry: string, outDir: string, filename: string, swapRequireIn: RegExp, bundledRequire: string }} o */
module.exports = function benchBundle(o) {
  return {
    mode: 'production',
    target: 'node',
    context: root,
    entry: o.entry,
    output: { path: join(root, o.outDir), filename: o.filename, clean: false },
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
          test: o.swapRequireIn,
          enforce: 'pre',
          use: [
            { loader: join(__dirname, 'bundle-require-loader.cjs'), options: { target: o.bundledRequire } },
          ],
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
};
