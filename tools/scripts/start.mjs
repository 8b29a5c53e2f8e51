#!/usr/bin/env node
// `npm start`: the all-in-one Tracetune on one machine. Builds api, worker, inference and the dashboard (cached by Nx
// after the first time), applies migrations (creating the database if needed), then runs and supervises the three
// processes (docs/operations.md, "Supervision"). Production runs them separately (docker/compose.yml).
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

// Supervision. Each app runs in its own process group (so a signal reaches its training processes too) and is
// restarted when it dies, after a backoff that doubles from 1 s to 30 s and resets once it has run a minute; every
// crash and restart is logged here. SIGTERM/SIGINT stops them all: SIGTERM to each app (the worker checkpoints its
// job and hands it back to the queue), then, past the grace period, SIGKILL to whatever is left of its group.
const GRACE_MS = Number(process.env.TRACETUNE_SHUTDOWN_GRACE_MS ?? 30_000) + 10_000;
const BACKOFF_MS = { first: 1_000, max: 30_000, resetAfter: 60_000 };
const apps = ['api', 'worker', 'inference'];
const running = new Map(); // app -> { child, startedAt, backoff }
let stopping = false;

const log = (message) => console.error(`[start] ${new Date().toISOString()} ${message}`);

function launch(app, backoff = BACKOFF_MS.first) {
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', join(root, 'dist', 'apps', app, 'main.js')],
    {
      cwd: root,
      stdio: 'inherit',
      env: process.env,
      detached: true,
    },
  );
  const entry = { child, startedAt: Date.now(), backoff };
  running.set(app, entry);
  child.on('exit', (code, signal) => {
    killGroup(child, 'SIGKILL'); // its training processes must not outlive it
    if (stopping) return;
    const ranFor = Date.now() - entry.startedAt;
    const delay = ranFor > BACKOFF_MS.resetAfter ? BACKOFF_MS.first : entry.backoff;
    log(
      `✖ ${app} exited (${signal ?? `code ${code}`}) after ${Math.round(ranFor / 1000)} s; restarting it in ${delay / 1000} s`,
    );
    setTimeout(() => {
      if (stopping) return;
      log(`↻ restarting ${app}`);
      launch(app, Math.min(BACKOFF_MS.max, delay * 2));
    }, delay);
  });
  return entry;
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is gone already
  }
}

function groupAlive(child) {
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: stopping ${apps.join(', ')} (grace ${GRACE_MS / 1000} s)`);
  const children = [...running.values()].map((e) => e.child);
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const deadline = Date.now() + GRACE_MS;
  while (Date.now() < deadline && children.some((c) => c.exitCode === null && c.signalCode === null))
    await new Promise((r) => setTimeout(r, 200));
  for (const child of children) if (groupAlive(child)) killGroup(child, 'SIGKILL');
  log('stopped');
  process.exit(0);
}
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

for (const app of apps) launch(app);
console.log(
  '\nTracetune is starting: api on PORT (default 8080) — http://localhost:8080/health, /docs, /dashboard',
);
