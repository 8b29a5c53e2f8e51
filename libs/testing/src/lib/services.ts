import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { freePort } from './ports';

/**
 * Services a fault test owns outright, so it can kill and restart them: a redis-server and a PostgreSQL cluster of
 * its own, each on a free port, gone when the test stops them.
 */
export interface OwnedService {
  port: number;
  url: string;
  /** Kills the server at once (SIGKILL for Redis: nothing is saved; fast shutdown for PostgreSQL). */
  kill(): Promise<void>;
  /** Starts it again on the same port (Redis empty, PostgreSQL with its data). */
  start(): Promise<void>;
  /** Stops it and removes its files. */
  destroy(): Promise<void>;
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`${what} did not come up within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess | null, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** A redis-server with no persistence (no RDB, no AOF) on a free port: a kill loses every key. */
export async function startRedisServer(): Promise<OwnedService> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await until(
      'redis-server',
      () =>
        spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG'),
      15_000,
    );
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => exited(child, 'SIGKILL'),
    start,
    destroy: () => exited(child, 'SIGKILL'),
  };
}

/** The newest PostgreSQL server binaries installed (Debian layout), or null. */
export function postgresBinaries(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

/**
 * A PostgreSQL cluster of the test's own (initdb into a temporary folder, trust authentication, no fsync) on a free
 * port. PostgreSQL refuses to run as root: as root the cluster runs as the `postgres` system user.
 */
export async function startPostgresCluster(bin: string): Promise<OwnedService> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'tt-pg-'));
  const owner = process.getuid?.() === 0 ? systemUser('postgres') : null;
  if (owner) await chown(dir, owner.uid, owner.gid);
  const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8'], {
    encoding: 'utf8',
    ...as,
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  let child: ChildProcess | null = null;
  const ready = () =>
    spawnSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']).status === 0;
  const start = async () => {
    child = spawn(
      join(bin, 'postgres'),
      ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
      { stdio: 'ignore', ...as },
    );
    await until('postgres', ready, 30_000);
  };
  await start();
  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}`,
    // SIGINT is PostgreSQL's fast shutdown: every connection is cut, as in a restart of the server.
    kill: () => exited(child, 'SIGINT'),
    start,
    destroy: async () => {
      await exited(child, 'SIGINT');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function systemUser(name: string): { uid: number; gid: number } {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error(`running as root needs the ${name} system user to start PostgreSQL`);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
