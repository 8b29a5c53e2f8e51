const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = {
  output: { path: join(__dirname, '../../dist/apps/inference') },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      // Model compute runs on a worker thread (apps/inference/src/engine-thread.ts), never on the HTTP event loop.
      additionalEntryPoints: [{ entryName: 'engine-thread', entryPath: './src/engine-thread.ts' }],
      tsConfig: './tsconfig.app.json',
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      // node_modules stay external: native and wasm packages (Prisma, tfjs) load from node_modules at run time.
      externalDependencies: 'all',
      sourceMap: true,
    }),
  ],
};
