import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

import { freePort } from './ports';
import { WORKSPACE_ROOT } from './test-database';

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a built app (`dist/apps/<name>/main.js`; the api project's test target builds the three apps first) as a
 * real child process with the given environment on a free port, and waits until its /health answers.
 */
export async function startApp(
  name: 'api' | 'inference' | 'worker',
  env: Record<string, string>,
  ready: (health: Record<string, unknown>) => boolean = () => true,
): Promise<RunningProcess> {
  const port = await freePort();
  const portVariable = { api: 'PORT', inference: 'INFERENCE_PORT', worker: 'WORKER_HEALTH_PORT' }[name];
  let log = '';
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', join(WORKSPACE_ROOT, 'dist', 'apps', name, 'main.js')],
    {
      cwd: WORKSPACE_ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        [portVariable]: String(port),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log}`);
    const health = await fetch(`${url}/health`)
      .then((r) => r.json() as Promise<Record<string, unknown>>)
      .catch(() => null);
    if (health && ready(health)) break;
    if (Date.now() > deadline) throw new Error(`${name} did not become healthy:\n${log}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    url,
    output: () => log,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
