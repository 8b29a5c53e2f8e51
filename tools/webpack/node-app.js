const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

/**
 * The webpack config of a Node app of this workspace: one bundle per entry under dist/apps/<name>, node_modules left
 * external (native and wasm packages such as Prisma and tfjs load from node_modules at run time).
 *
 * @param {string} dir the app's folder (__dirname of its webpack.config.js)
 * @param {string} name the app's name
 * @param {{ entryName: string, entryPath: string }[]} additionalEntryPoints extra bundles (child processes, threads)
 */
function nodeApp(dir, name, additionalEntryPoints = []) {
  return {
    output: { path: join(dir, '../../dist/apps', name) },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        additionalEntryPoints,
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: false,
        externalDependencies: 'all',
        sourceMap: true,
      }),
    ],
  };
}

module.exports = { nodeApp };
