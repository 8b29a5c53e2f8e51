const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

module.exports = {
  output: { path: join(__dirname, '../../dist/apps/worker') },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      // The training process runs in a child of the worker (apps/worker/src/training-process.ts).
      additionalEntryPoints: [{ entryName: 'training-process', entryPath: './src/training-process.ts' }],
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
