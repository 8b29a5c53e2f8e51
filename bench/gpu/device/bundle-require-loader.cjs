/**
 * webpack loader for libs/model/src/backend.ts and webgpu.ts in the GPU device bundle: their `eval('require')` (a
 * runtime require that bundlers do not follow, for optional backends) becomes bench/gpu/device/bundled-require.ts.
 * Fails the build if the pattern is gone, rather than shipping a bundle that cannot start.
 */
const { join } = require('node:path');

const PATTERN = /eval\('require'\)/g;

module.exports = function bundleRequireLoader(source) {
  if (!PATTERN.test(source))
    throw new Error(`${this.resourcePath}: no eval('require') to replace; update ${__filename}`);
  const target = JSON.stringify(join(__dirname, 'bundled-require.ts'));
  return `import { bundledRequire as __bundledRequire } from ${target};\n${source.replace(PATTERN, '__bundledRequire')}`;
};
