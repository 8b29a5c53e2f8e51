#!/usr/bin/env node
// `npm start`: the all-in-one Tracetune on one machine. Builds api, worker, inference and the dashboard (cached by Nx
// after the first time), applies migrations (creating the database if needed), then runs the three processes and
// stops them all together. Production runs them separately (docker/compose.yml).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = new Set(process.argv.slice(2));

function step(title, command, commandArgs, extraEnv = {}) {
  console.log(`\n▶ ${title}`);
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...extraEnv },
  });
  if (result.status !== 0) {
    console.error(`✖ ${title} failed (exit ${result.status})`);
    process.exit(result.status ?? 1);
  }
}

if (!args.has('--no-build')) {
  step(
    'building api, worker, inference and dashboard',
    'npx',
    ['nx', 'run-many', '-t', 'build', '-p', 'api', 'worker', 'inference', 'dashboard'],
    {
      NX_DAEMON: 'false',
    },
  );
}
step('applying database migrations', process.execPath, [join(root, 'tools', 'scripts', 'db.mjs'), 'deploy']);

const apps = ['api', 'worker', 'inference'];
const children = apps.map((app) => {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', join(root, 'dist', 'apps', app, 'main.js')],
    {
      cwd: root,
      stdio: 'inherit',
      env: process.env,
    },
  );
  child.on('exit', (code, signal) => {
    if (stopping) return;
    console.error(`✖ ${app} exited (${signal ?? code}); stopping the others`);
    stop(code ?? 1);
  });
  return child;
});

let stopping = false;
function stop(code = 0) {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 5_000).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(
    () => process.exit(code),
  );
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
console.log(
  '\nTracetune is starting: api on PORT (default 8080) — http://localhost:8080/health, /docs, /dashboard',
);
