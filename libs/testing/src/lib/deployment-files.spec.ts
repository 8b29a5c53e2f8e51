import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';

import { WORKSPACE_ROOT } from './test-database';

/**
 * The deployment files (docker/, .dockerignore) checked as far as a machine without a Docker daemon allows: the
 * Compose files through a real Compose implementation's `config`, the Dockerfile's stages and every path it copies,
 * and that the production-only dependencies of the runtime image cover every package the apps import.
 */
const docker = (...parts: string[]) => join(WORKSPACE_ROOT, 'docker', ...parts);
const APPS = { api: 8080, worker: 8082, inference: 8081 } as const;

interface ComposeService {
  build?: { dockerfile?: string; target?: string };
  deploy?: { resources?: { reservations?: { devices?: { driver?: string; capabilities?: string[] }[] } } };
  command?: string[];
  image?: string;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  init?: boolean;
  profiles?: string[];
  volumes?: (string | { source?: string; type?: string })[];
}

/** `docker compose config` (the v2 plugin) where installed, else Debian's docker-compose 1.29. */
function composeConfig(...args: string[]): Record<string, ComposeService> {
  const v2 = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' }).status === 0;
  const [command, prefix] = v2 ? ['docker', ['compose']] : ['docker-compose', []];
  const result = spawnSync(command, [...prefix, ...args, 'config'], {
    cwd: WORKSPACE_ROOT,
    encoding: 'utf8',
    env: { PATH: process.env['PATH'] ?? '', TRACETUNE_ADMIN_KEY: '' },
  });
  if (result.error)
    throw new Error(
      `${command} is not installed: run tools/scripts/ensure-docker-compose.sh (${result.error.message})`,
    );
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} config failed:\n${result.stderr}`);
  return (parse(result.stdout) as { services: Record<string, ComposeService> }).services;
}

/** Variables .env.example documents (one per schema variable; a spec in libs/config keeps them in step). */
const documented = new Set(
  [...readFileSync(join(WORKSPACE_ROOT, '.env.example'), 'utf8').matchAll(/^# ([A-Z][A-Z0-9_]*)=/gm)].map(
    (m) => m[1],
  ),
);

describe('docker/compose.yml', () => {
  const services = composeConfig('-f', 'docker/compose.yml', '--profile', 'monitoring');

  it('should run migrations once, in a one-shot service every app waits for', () => {
    expect(services['migrate'].command).toEqual(['migrate']);
    expect(services['migrate'].restart).toBe('no');
    expect(services['migrate'].depends_on?.['postgres'].condition).toBe('service_healthy');
    for (const app of Object.keys(APPS)) {
      expect(services[app].depends_on).toEqual({
        migrate: { condition: 'service_completed_successfully' },
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
  });

  it('should restart every long-running service on failure', () => {
    for (const name of [...Object.keys(APPS), 'postgres', 'redis'])
      expect(services[name].restart).toBe('unless-stopped');
    for (const app of Object.keys(APPS)) expect(services[app].init).toBe(true);
  });

  it('should give every service a healthcheck, each app probing its own port', () => {
    for (const [app, port] of Object.entries(APPS)) {
      expect(services[app].command).toEqual([app]);
      expect(services[app].healthcheck?.test).toEqual([
        'CMD',
        'node',
        '/app/docker/healthcheck.mjs',
        String(port),
      ]);
    }
    for (const name of ['postgres', 'redis'])
      expect(services[name].healthcheck?.test.length).toBeGreaterThan(1);
    expect(existsSync(docker('healthcheck.mjs'))).toBe(true);
  });

  it('should set only documented Tracetune variables, and mount only files that exist', () => {
    for (const app of [...Object.keys(APPS), 'migrate']) {
      const unknown = Object.keys(services[app].environment ?? {}).filter((name) => !documented.has(name));
      expect(unknown).toEqual([]);
    }
    for (const name of ['prometheus', 'grafana']) {
      expect(services[name].profiles).toEqual(['monitoring']);
      for (const volume of services[name].volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0] : (volume.source ?? '');
        expect(existsSync(source)).toBe(true);
      }
    }
  });

  it('should move artifacts to S3 with the overlay, every app waiting for the bucket', () => {
    const s3 = composeConfig('-f', 'docker/compose.yml', '-f', 'docker/compose.s3.yml');
    for (const app of Object.keys(APPS)) {
      expect(s3[app].environment?.['TRACETUNE_STORAGE']).toMatch(/^s3:\/\/[a-z0-9.-]+\//);
      expect(s3[app].environment?.['TRACETUNE_S3_FORCE_PATH_STYLE']).toBe('true');
      expect(s3[app].depends_on?.['minio-bucket'].condition).toBe('service_completed_successfully');
      expect(s3[app].depends_on?.['migrate'].condition).toBe('service_completed_successfully');
      expect(Object.keys(s3[app].environment ?? {}).filter((name) => !documented.has(name))).toEqual([]);
    }
  });
});

describe('docker/Dockerfile.gpu and the worker-gpu service', () => {
  const dockerfile = readFileSync(docker('Dockerfile.gpu'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const stage = (name: string) => stages.find((s) => new RegExp(`^\\S+ AS ${name}\\b`).test(s)) ?? '';

  it('should have a Vulkan (webgpu) target and, separately, a CUDA 11 + cuDNN 8 target for tfjs-node-gpu 4.x', () => {
    expect(stage('webgpu')).toMatch(/libvulkan1/);
    expect(stage('webgpu')).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
    expect(stage('webgpu')).toMatch(/COPY --from=prod-deps \/app\/node_modules/);
    expect(stage('cuda').split('\n')[0]).toMatch(/^nvidia\/cuda:11\.\d+\.\d+-cudnn8-runtime/);
    expect(stage('cuda')).toMatch(/TRACETUNE_BACKEND=tensorflow-gpu/);
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(' '));
    for (const source of sources)
      expect([source, existsSync(join(WORKSPACE_ROOT, source))]).toEqual([source, true]);
  });

  it('should run worker-gpu (profile gpu) from the webgpu target with a GPU device reservation', () => {
    const gpu = composeConfig('-f', 'docker/compose.yml', '--profile', 'gpu')['worker-gpu'];
    expect(gpu.build).toMatchObject({ dockerfile: 'docker/Dockerfile.gpu', target: 'webgpu' });
    expect(gpu.profiles).toEqual(['gpu']);
    expect(gpu.command).toEqual(['worker']);
    expect(gpu.deploy?.resources?.reservations?.devices).toEqual([
      { driver: 'nvidia', count: 1, capabilities: ['gpu'] },
    ]);
    expect(gpu.healthcheck?.test).toEqual(['CMD', 'node', '/app/docker/healthcheck.mjs', '8082']);
  });
});

describe('docker/Dockerfile and .dockerignore', () => {
  const dockerfile = readFileSync(docker('Dockerfile'), 'utf8');
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const stage = (name: string) => stages.find((s) => new RegExp(`^\\S+ AS ${name}\\b`).test(s)) ?? '';
  const ignored = readFileSync(join(WORKSPACE_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));

  it('should keep the host node_modules, builds and data out of the build context', () => {
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', 'dist', 'data', '.git', '.env']));
  });

  it('should build in one stage and run with production dependencies only', () => {
    expect(stages.map((s) => s.split('\n')[0].split(' AS ')[1])).toEqual([
      'deps',
      'build',
      'prod-deps',
      'runtime',
    ]);
    expect(stage('prod-deps')).toMatch(/npm ci --omit=dev --omit=optional --ignore-scripts/);
    const runtime = stage('runtime');
    expect(runtime).toMatch(/COPY --from=prod-deps \/app\/node_modules \.\/node_modules/);
    expect(runtime).not.toMatch(/COPY \. \./);
    expect(runtime).not.toMatch(/npm (ci|install)/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/app\/docker\/entrypoint.sh"\]$/m);
  });

  it('should copy only paths that exist in the repository and are not dockerignored', () => {
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(' '));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect([source, existsSync(join(WORKSPACE_ROOT, source))]).toEqual([source, true]);
      const top = source.split('/')[0];
      expect(ignored.filter((pattern) => pattern === source || pattern === top)).toEqual([]);
    }
    accessSync(docker('entrypoint.sh'), constants.X_OK);
    expect(execFileSync('sh', ['-n', docker('entrypoint.sh')]).toString()).toBe('');
  });

  it('should list every package the apps and the migration script import among the production dependencies', () => {
    const pkg = JSON.parse(readFileSync(join(WORKSPACE_ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const production = new Set(Object.keys(pkg.dependencies));
    const builtins = new Set(builtinModules);
    const files: string[] = [join(WORKSPACE_ROOT, 'tools', 'scripts', 'db.mjs')];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory() && entry.name !== 'generated') walk(path);
        else if (/\.(ts|mjs)$/.test(entry.name) && !/\.(spec|test)\.ts$/.test(entry.name)) files.push(path);
      }
    };
    for (const app of Object.keys(APPS)) walk(join(WORKSPACE_ROOT, 'apps', app, 'src'));
    for (const lib of readdirSync(join(WORKSPACE_ROOT, 'libs')).filter((l) => l !== 'testing'))
      walk(join(WORKSPACE_ROOT, 'libs', lib, 'src'));
    const missing = new Set<string>();
    const seen = new Set<string>();
    for (const file of files) {
      const source = readFileSync(file, 'utf8');
      const imports = [
        ...[...source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?\sfrom\s+'([^']+)'/gms)]
          .filter((m) => !m[1])
          .map((m) => m[2]),
        ...[...source.matchAll(/^import\s+'([^']+)'/gm)].map((m) => m[1]),
        ...[...source.matchAll(/\brequire\('([^']+)'\)/g)].map((m) => m[1]),
      ];
      for (const specifier of imports) {
        if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('@tracetune/'))
          continue;
        const parts = specifier.split('/');
        const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        seen.add(name);
        if (!builtins.has(name) && !production.has(name))
          missing.add(`${name} (${file.slice(WORKSPACE_ROOT.length + 1)})`);
      }
    }
    expect([...missing]).toEqual([]);
    expect([...seen]).toEqual(
      expect.arrayContaining([
        '@aws-sdk/client-s3',
        '@prisma/schema-engine-wasm',
        'prom-client',
        '@nestjs/bull',
      ]),
    );
  });
});
