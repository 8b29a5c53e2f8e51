/**
 * Graders throughput: graded samples per second for string_check, math_answer, text_similarity (rouge_l) and
 * javascript, at 1k samples each, plus the JavaScript sandbox's per-call overhead against a native call of the
 * same function measured in the same run. Run: npx ts-node -P tsconfig.bench.json bench/graders/main.ts
 */
import {
  createGrader,
  GraderPool,
  JavaScriptSandbox,
  type Grader,
  type GraderItem,
  type GraderSample,
} from '../../libs/graders/src';
import { lcsLength, lcsLengthDP } from '../../libs/graders/src/lib/text-similarity/tokenize';

const N = 1000;

/** Deterministic synthetic data: math-style answers and short sentences (LCG, seed 1). */
function makeData(n: number): { sample: GraderSample; item: GraderItem }[] {
  let state = 1;
  const rand = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const words = [
    'the',
    'cat',
    'sat',
    'on',
    'a',
    'mat',
    'while',
    'dog',
    'ran',
    'far',
    'away',
    'from',
    'home',
    'today',
  ];
  const sentence = (len: number) =>
    Array.from({ length: len }, () => words[Math.floor(rand() * words.length)]).join(' ');
  return Array.from({ length: n }, (_, i) => {
    const answer = Math.floor(rand() * 1000);
    const right = rand() < 0.5;
    const reasoning = `${sentence(40)}. So we compute ${answer - 3} + 3 = ${right ? answer : answer + 1}.`;
    return {
      sample: { output_text: `${reasoning} The answer is \\boxed{${right ? answer : answer + 1}}.` },
      item: { answer: String(answer), reference: sentence(40), id: i },
    };
  });
}

async function samplesPerSecond(
  grader: Grader,
  data: { sample: GraderSample; item: GraderItem }[],
): Promise<number> {
  for (const d of data.slice(0, 50)) await grader.grade(d.sample, d.item); // warm-up (JIT, sandbox load)
  const t0 = performance.now();
  let errors = 0;
  for (const d of data) {
    const r = await grader.grade(d.sample, d.item);
    if (r.errorDetails.length > 0) errors++;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (errors > 0) throw new Error(`${grader.type}: ${errors} samples failed to grade`);
  return data.length / seconds;
}

const JS_SOURCE = `function grade(sample, item) {
  const m = sample.output_text.match(/\\\\boxed\\{([^}]*)\\}/);
  return m !== null && m[1].trim() === item.answer ? 1 : 0;
}`;

/** The same function as JS_SOURCE, compiled natively by Node: the baseline of the sandbox overhead. */
function nativeGrade(sample: GraderSample, item: GraderItem): number {
  const m = sample.output_text.match(/\\boxed\{([^}]*)\}/);
  return m !== null && m[1].trim() === item.answer ? 1 : 0;
}

async function main(): Promise<void> {
  const data = makeData(N);
  const sandbox = new JavaScriptSandbox();
  const pool = new GraderPool({ threads: 1 });
  const graders: Grader[] = [
    createGrader({
      type: 'string_check',
      name: 'sc',
      input: '{{sample.output_text}}',
      reference: '{{item.answer}}',
      operation: 'like',
    }),
    createGrader({
      type: 'math_answer',
      name: 'math',
      input: '{{sample.output_text}}',
      reference: '{{item.answer}}',
    }),
    createGrader({
      type: 'text_similarity',
      name: 'rl',
      input: '{{sample.output_text}}',
      reference: '{{item.reference}}',
      evaluation_metric: 'rouge_l',
    }),
    createGrader({ type: 'javascript', name: 'js', source: JS_SOURCE }, { code: pool }),
  ];
  console.log(
    `graders bench: ${N} samples each, node ${process.version}, sequential awaits (javascript: through a one-thread pool)`,
  );
  for (const g of graders) {
    const sps = await samplesPerSecond(g, data);
    console.log(
      `  ${g.type.padEnd(16)} ${sps.toFixed(0).padStart(9)} samples/s  (${(1e6 / sps).toFixed(1)} µs/sample)`,
    );
  }

  // Sandbox overhead: sandbox.run (fresh context + compile + call + JSON in) vs the native function, same inputs.
  for (const d of data.slice(0, 50)) await sandbox.run(JS_SOURCE, d.sample, d.item);
  let t0 = performance.now();
  let agree = 0;
  for (const d of data) {
    const out = await sandbox.run(JS_SOURCE, d.sample, d.item);
    if (out.ok && out.value === nativeGrade(d.sample, d.item)) agree++;
  }
  const sandboxUs = ((performance.now() - t0) * 1000) / N;
  const REPS = 100;
  let sink = 0;
  t0 = performance.now();
  for (let r = 0; r < REPS; r++) for (const d of data) sink += nativeGrade(d.sample, d.item);
  const nativeUs = ((performance.now() - t0) * 1000) / (N * REPS);
  console.log(
    `  sandbox call    ${sandboxUs.toFixed(1)} µs/call (results agree with native on ${agree}/${N})`,
  );
  console.log(`  native call     ${nativeUs.toFixed(3)} µs/call (baseline; checksum ${sink})`);
  console.log(`  sandbox/native  ${(sandboxUs / nativeUs).toFixed(0)}x per-call overhead`);
  graders.forEach((g) => g.dispose());
  sandbox.dispose();
  await pool.close();

  // fuzzy_match / rouge_l core: bit-parallel LCS vs the readable O(n·m) DP, on 2 000-character texts.
  const longA = Array.from(
    data
      .slice(0, 10)
      .map((d) => d.sample.output_text)
      .join(' ')
      .slice(0, 2000),
  );
  const longB = Array.from(
    data
      .slice(10, 20)
      .map((d) => d.sample.output_text)
      .join(' ')
      .slice(0, 2000),
  );
  const time = (fn: () => number, reps: number) => {
    fn();
    const start = performance.now();
    for (let r = 0; r < reps; r++) fn();
    return (performance.now() - start) / reps;
  };
  const fastMs = time(() => lcsLength(longA, longB), 50);
  const dpMs = time(() => lcsLengthDP(longA, longB), 5);
  console.log(
    `  LCS 2000×2000   bit-parallel ${fastMs.toFixed(2)} ms vs DP ${dpMs.toFixed(2)} ms → ${(dpMs / fastMs).toFixed(1)}x`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
