/**
 * GPU benchmark (docs/gpu.md): train-step time (forward + backward + AdamW at a fixed batch) and decode tokens/s at
 * batch 1 and 32, for tt-mini and a random-init Qwen2-0.5B-shaped model (full and LoRA), on one tfjs backend per
 * process; `--compare` prints every runner side by side with ratios (bench/gpu/torch_gpu.py writes the PyTorch CUDA
 * fp32 eager figures in the same format); plus a GRPO-λ job with its step times on webgpu.
 *
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/gpu/main.ts --backend webgpu --out w.json
 *       [--quick] [--grpo-steps 20] [--models tt-mini,qwen2-0.5b]
 *   … bench/gpu/main.ts --compare w.json,wasm.json,torch.json
 *   … bench/gpu/main.ts --dump-shapes shapes.json [--quick]      (for torch_gpu.py)
 */
import { readFileSync, writeFileSync } from 'node:fs';

import { describeBackend, setupBackend, type BackendChoice } from '@tracetune/model';

import { grpoJob, type GrpoRun } from './grpo';
import { measure, type Row } from './measure';
import { compare } from './report';
import { benchShapes } from './shapes';

export interface RunnerResult {
  runner: string;
  device: string;
  rows: Row[];
  grpo?: GrpoRun | null;
}

function arg(name: string): string | null {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? null) : null;
}

async function run(backend: BackendChoice, quick: boolean, out: string | null): Promise<RunnerResult> {
  const report = await setupBackend(backend);
  console.log(describeBackend(report));
  if (report.backend !== backend) throw new Error(`backend ${backend} did not start`);
  const device = report.adapter ? `${report.adapter.vendor} ${report.adapter.description}`.trim() : 'cpu';
  const result: RunnerResult = { runner: `tfjs-${report.backend}`, device, rows: [], grpo: null };
  const save = () => out && writeFileSync(out, JSON.stringify(result, null, 1)); // after every row: a timeout keeps them
  const only = arg('models')?.split(',');
  for (const shape of benchShapes(quick).filter((s) => !only || only.includes(s.name))) {
    const t0 = performance.now();
    measure(shape, { runs: quick ? 2 : 3, warmup: 1 }, (row) => {
      result.rows.push(row);
      console.log(JSON.stringify(row));
      save();
    });
    console.log(`(${shape.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  const steps = Number(arg('grpo-steps') ?? (quick ? 3 : 20));
  if (backend === 'webgpu' && steps > 0) {
    result.grpo = await grpoJob(quick ? 'tt-nano' : 'tt-mini', steps, quick);
    console.log(JSON.stringify(result.grpo));
    save();
  }
  return result;
}

async function main(): Promise<void> {
  const dump = arg('dump-shapes');
  if (dump) {
    writeFileSync(dump, JSON.stringify(benchShapes(process.argv.includes('--quick')), null, 1));
    return;
  }
  const files = arg('compare');
  if (files) {
    const results = files.split(',').map((f) => JSON.parse(readFileSync(f, 'utf8')) as RunnerResult);
    console.log(compare(results));
    return;
  }
  await run((arg('backend') ?? 'webgpu') as BackendChoice, process.argv.includes('--quick'), arg('out'));
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
