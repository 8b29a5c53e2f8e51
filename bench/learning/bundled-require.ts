/**
 * Only in the device bundle (bench/learning/bundle.config.cjs): stands in for the runtime `require` that
 * @tracetune/model's setupBackend uses for its optional backends. The bundle holds the wasm and cpu backends; the
 * wasm binaries lie next to the bundle file, so `resolve` answers a path in the bundle's own folder. The native
 * tfjs-node backends are not bundled: asking for them throws like a missing package, and setupBackend falls back.
 */
import { join } from 'node:path';
import * as cpu from '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';

const BUNDLED: Record<string, unknown> = {
  '@tensorflow/tfjs-backend-wasm': wasm,
  '@tensorflow/tfjs-backend-cpu': cpu,
};

const missing = (name: string): Error =>
  Object.assign(new Error(`Cannot find module '${name}' (not in the bundle)`), { code: 'MODULE_NOT_FOUND' });

export const bundledRequire = Object.assign(
  (name: string): unknown => {
    if (name in BUNDLED) return BUNDLED[name];
    throw missing(name);
  },
  {
    resolve: (name: string): string => {
      // __dirname is the bundle's folder (webpack `node.__dirname: false`), where pack.sh puts the .wasm files.
      if (name in BUNDLED) return join(__dirname, `${name.split('/')[1]}.js`);
      throw missing(name);
    },
  },
);
