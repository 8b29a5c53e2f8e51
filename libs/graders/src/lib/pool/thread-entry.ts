import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** How a pool thread is started: a built script, or the TypeScript source through ts-node. */
export interface ThreadEntry {
  /** A file path, or (`eval`) the code of a small loader. */
  code: string;
  eval: boolean;
}

/**
 * The thread script. A bundled app (webpack) ships it as `grader-thread.js` beside its main bundle (each app that
 * grades lists it as an entry point); in development and tests the TypeScript source next to this file is loaded
 * through ts-node (transpile only), which costs about a second per thread start.
 */
export function resolveThreadEntry(explicit?: string): ThreadEntry {
  if (explicit) return { code: explicit, eval: false };
  const built = join(__dirname, 'grader-thread.js');
  if (existsSync(built)) return { code: built, eval: false };
  const source = join(__dirname, 'grader-thread.ts');
  const localRequire = createRequire(__filename);
  const tsNode = localRequire.resolve('ts-node');
  const project = join(__dirname, '..', '..', '..', 'tsconfig.lib.json');
  // Jest under Nx exports TS_NODE_COMPILER_OPTIONS (moduleResolution node10, an error under TypeScript 6): the
  // thread compiles with the library's own settings instead.
  const loader = [
    'delete process.env.TS_NODE_COMPILER_OPTIONS;',
    `require(${JSON.stringify(tsNode)}).register({ transpileOnly: true, project: ${JSON.stringify(project)} });`,
    `require(${JSON.stringify(source)});`,
  ].join('\n');
  return { code: loader, eval: true };
}
