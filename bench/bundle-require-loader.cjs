/**
 * webpack loader for the device bundles (bench/bundle.cjs): the `eval('require')` of libs/model's backend modules (a
 * runtime require that bundlers do not follow, for optional backends) becomes the pack's bundled-require.ts (the
 * loader option `target`), which serves the backends bundled with it. Fails the build if the pattern is gone, rather
 * than shipping a bundle that cannot start.
 */
const PATTERN = /eval\('require'\)/g;

module.exports = function bundleRequireLoader(source) {
  PATTERN.lastIndex = 0;
  if (!PATTERN.test(source))
    throw new Error(
      `${this.resourcePath}: no eval('require') to replace; update bench/bundle-require-loader.cjs`,
    );
  const target = JSON.stringify(this.getOptions().target);
  return `import { bundledRequire as __bundledRequire } from ${target};\n${source.replace(PATTERN, '__bundledRequire')}`;
};
