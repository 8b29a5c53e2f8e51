import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// `TRACETUNE_BACKEND=webgpu tracetune train …`: a 3-step GRPO-λ job through the CLI (run from source) on the webgpu
// backend (lavapipe in CI, tools/scripts/ensure-lavapipe.sh). Its log must name the backend and the adapter.
jest.setTimeout(300_000);

const root = resolve(__dirname, '../../..');
const examples = join(root, 'apps/cli/examples');

function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        '-r',
        'tsconfig-paths/register',
        'apps/cli/src/main.ts',
        ...args,
      ],
      {
        cwd: root,
        // Without the TS_NODE_COMPILER_OPTIONS that jest under Nx exports (moduleResolution node10: an error in TS 6).
        env: {
          ...process.env,
          TS_NODE_COMPILER_OPTIONS: undefined,
          TS_NODE_PROJECT: join(root, 'tsconfig.bench.json'),
          ...env,
        },
        maxBuffer: 16 * 2 ** 20,
      },
      (error, stdout, stderr) => done({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('tracetune train on TRACETUNE_BACKEND=webgpu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tt-cli-webgpu-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should run a 3-step GRPO-λ job and log the webgpu backend with its adapter', async () => {
    const config = join(dir, 'run.json');
    writeFileSync(
      config,
      JSON.stringify({
        method: 'reinforcement',
        baseModel: { kind: 'builtin', name: 'tt-nano' },
        trainingFile: join(examples, 'arithmetic-train.jsonl'),
        grader: join(examples, 'grader.json'),
        hyperparameters: { n_epochs: 1, batch_size: 2 },
        algorithm: { name: 'grpo_lambda', lambda: 0.99, num_generations: 4, max_completion_tokens: 8 },
        seed: 1,
        trainer: { maxSteps: 3 },
        output: join(dir, 'out'),
        backend: 'wasm', // the environment variable wins over the file
      }),
    );
    const { code, stdout, stderr } = await runCli(['train', '--config', config], {
      TRACETUNE_BACKEND: 'webgpu',
    });
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(stderr).toMatch(/tfjs backend: webgpu \(requested webgpu; adapter \S+/);
    expect(stderr).toMatch(/max binding \d+ MiB/);
    expect(stderr).not.toMatch(/webgpu device error|validation/i);
    const summary = JSON.parse(stdout) as { status: string; steps: string };
    expect(summary).toMatchObject({ status: 'succeeded', steps: '3/3' });
    expect(existsSync(join(dir, 'out', 'final', 'model.safetensors'))).toBe(true);
  });

  it('should refuse an unknown TRACETUNE_BACKEND with the accepted values', async () => {
    const { code, stderr } = await runCli(['eval', '--model', dir, '--data', 'x', '--grader', 'y'], {
      TRACETUNE_BACKEND: 'quantum',
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/TRACETUNE_BACKEND="quantum".*webgpu/);
  });
});
