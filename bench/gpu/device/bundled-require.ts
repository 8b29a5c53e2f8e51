/**
 * Only in the device bundle (bench/gpu/device/bundle.config.cjs): stands in for the runtime `require` that
 * @tracetune/model uses for its optional backends (backend.ts, webgpu.ts). The bundle holds the wasm, cpu and webgpu
 * tfjs backends; the wasm binaries and the `webgpu` package's dawn.node lie next to the bundle file (run.sh unpacks
 * them), so `resolve` answers paths in the bundle's folder and native addons load with Node's own require.
 */
import { join } from 'node:path';
import * as cpu from '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import * as webgpu from '@tensorflow/tfjs-backend-webgpu';

declare const __non_webpack_require__: NodeJS.Require;

const BUNDLED: Record<string, unknown> = {
  '@tensorflow/tfjs-backend-wasm': wasm,
  '@tensorflow/tfjs-backend-cpu': cpu,
  '@tensorflow/tfjs-backend-webgpu': webgpu,
};

const missing = (name: string): Error =>
  Object.assign(new Error(`Cannot find module '${name}' (not in the bundle)`), { code: 'MODULE_NOT_FOUND' });

export const bundledRequire = Object.assign(
  (name: string): unknown => {
    if (name in BUNDLED) return BUNDLED[name];
    if (name.endsWith('.node')) return __non_webpack_require__(name);
    throw missing(name);
  },
  {
    resolve: (name: string): string => {
      // __dirname is the bundle's folder (webpack `node.__dirname: false`).
      if (name === 'webgpu/package.json') return join(__dirname, 'webgpu', 'package.json');
      if (name in BUNDLED) return join(__dirname, `${name.split('/')[1]}.js`);
      throw missing(name);
    },
  },
);
