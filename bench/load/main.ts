/**
 * Load benchmark: /health latency of the api (a real process of the built app) while 200 requests from two
 * organizations hit it at once, a job trains on the worker and a `while (true)` grader spins in graders/run: the
 * scenario of the api's load test (libs/testing `load.ts`), timed. The baseline is /health on the same stack, idle,
 * measured in the same run; the ratio of the loaded p99 to it is printed. Probes run open loop every 20 ms from a
 * thread of their own.
 *
 *   npx nx run-many -t build -p api worker inference
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/load/main.ts [--rounds 3] [--idle-seconds 10]
 *     [--timeline] [--path /health]
 *
 * Needs PostgreSQL and Redis on 127.0.0.1 (as the tests do).
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';

import {
  fireBurst,
  loadBurst,
  prepareTenants,
  probeHealth,
  quantile,
  startLoadStack,
  type HealthProbe,
  type LoadOutcome,
} from '@tracetune/testing';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    'idle-seconds': { type: 'string', default: '10' },
    // Another path to probe instead (to tell the route's cost from the event loop's).
    path: { type: 'string', default: '/health' },
    timeline: { type: 'boolean', default: false },
  },
});

const ms = (x: number) => `${x.toFixed(1)} ms`;
const latencyLine = (probes: HealthProbe[]) => {
  const l = probes.map((p) => p.ms);
  const failed = probes.filter((p) => p.status !== 200).length;
  return `${probes.length} probes, p50 ${ms(quantile(l, 0.5))}, p99 ${ms(quantile(l, 0.99))}, max ${ms(quantile(l, 1))}, not 200: ${failed}`;
};
const statusLine = (outcomes: LoadOutcome[]) => {
  const counts = new Map<string, number>();
  for (const o of outcomes) {
    const label = o.status === 0 ? 'no answer' : o.status === 429 ? `429 ${o.type}` : String(o.status);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort()
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
};

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`machine: ${cpu[0]?.model.trim()}, ${cpu.length} cores, node ${process.version}`);
  console.log(
    `load average before: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  const stack = await startLoadStack();
  try {
    const idleProber = probeHealth(stack.api.url, 20, values.path);
    await new Promise((r) => setTimeout(r, Number(values['idle-seconds']) * 1000));
    const idle = await idleProber.stop();
    const idleP99 = quantile(
      idle.map((p) => p.ms),
      0.99,
    );
    console.log(`\n/health, stack idle (baseline): ${latencyLine(idle)}`);

    const loaded: HealthProbe[] = [];
    const rounds = Number(values.rounds);
    for (let round = 1; round <= rounds; round++) {
      const tenants = await prepareTenants(stack, `bench-${Date.now().toString(36)}-${round}`);
      const prober = probeHealth(stack.api.url, 20, values.path);
      const t0 = performance.now();
      const outcomes = await fireBurst(stack, tenants, loadBurst(tenants));
      const wall = (performance.now() - t0) / 1000;
      const probes = await prober.stop();
      loaded.push(...probes);
      if (values.timeline) {
        // Each probe as sent-at:latency in ms, with (cN) where it opened a connection (N ms to connect).
        console.log(
          [...probes]
            .sort((x, y) => x.at - y.at)
            .map(
              (p) =>
                `${p.at.toFixed(0)}:${p.ms.toFixed(0)}${p.connectMs === null ? '' : `(c${p.connectMs.toFixed(0)})`}`,
            )
            .join(' '),
        );
      }
      const p99 = quantile(
        probes.map((p) => p.ms),
        0.99,
      );
      console.log(
        `\nround ${round}: ${outcomes.length} requests at once, all answered in ${wall.toFixed(2)} s`,
      );
      console.log(`  answers: ${statusLine(outcomes)}`);
      console.log(
        `  request latency: p50 ${ms(
          quantile(
            outcomes.map((o) => o.ms),
            0.5,
          ),
        )}, p99 ${ms(
          quantile(
            outcomes.map((o) => o.ms),
            0.99,
          ),
        )}`,
      );
      console.log(
        `  /health during the burst: ${latencyLine(probes)}; p99 ${(p99 / idleP99).toFixed(2)}× idle`,
      );
      console.log(`  hostile grader still spinning at the end of the burst: ${!tenants.hostileGraderDone()}`);
      // Cancel A's job (a0 has requests left this minute) so the next round's job starts soon; B's, if created,
      // is two steps and runs out by itself.
      await stack
        .client(tenants.keys.a0)
        .fineTuning.jobs.cancel(tenants.jobA)
        .catch(() => undefined);
      await tenants.hostileGrader.catch(() => undefined);
    }
    const all = loaded.map((p) => p.ms);
    console.log(`\n/health under load, all rounds: ${latencyLine(loaded)}`);
    console.log(
      `p99 under load ${ms(quantile(all, 0.99))} vs idle ${ms(idleP99)}: ${(quantile(all, 0.99) / idleP99).toFixed(2)}× (target: p99 < 100 ms)`,
    );
    console.log(
      `load average after: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
