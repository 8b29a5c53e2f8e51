import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import type { Page } from 'playwright-core';

import { startApp, WORKSPACE_ROOT, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from '../../api/test/api-test-app';
import type { LoggedSample } from '../../dashboard/src/lib/credit';
import { launchBrowser, screenshot, screenshotOf, type Browser } from './support/browser';
import { runRealJobs, type RealRuns } from './support/real-runs';
import { createRun, Seeder, syntheticMetrics, uploadFile, uploadTrainingFile } from './support/seed';

const LAMBDA = { rate: 14, ceiling: 0.85, phase: 0 };
const BASELINE = { rate: 24, ceiling: 0.7, phase: 1.3 };
const steps = (from: number, to: number, curve: typeof LAMBDA) =>
  Array.from({ length: to - from + 1 }, (_, i) => ({
    step: from + i,
    metrics: syntheticMetrics(from + i, curve),
  }));

/** Read in the page (a string: these tests compile without the DOM library). */
const STORED_KEY = "sessionStorage.getItem('tracetune.apiKey')";

/** How the dashboard prints a metric (lib/format.ts): four significant digits, trailing zeros dropped. */
const shown = (value: number) => value.toPrecision(4).replace(/\.?0+$/, '');

/**
 * The pages of finished runs (charts, samples, credit view, compare, playground) are those of real jobs trained by a
 * real worker in beforeAll (tt-nano SFT, then GRPO-λ and GRPO steps). Seeded with SQL, and only these: runs half-way
 * through 100 steps whose charts gain points while the page is open, a queued run to pause / resume / cancel, a
 * broken file, and a checkpoint model — states a real run on a test machine passes through in well under a second.
 */
describe('dashboard in a real browser (real api, database, worker and inference)', () => {
  let api: TestApi;
  let inference: RunningProcess;
  let dataDir: string;
  let client: OpenAI;
  let seed: Seeder;
  let browser: Browser;
  let page: Page;
  let lambdaRun: string;
  let baselineRun: string;
  let spareRun: string;
  let checkpointModel: string;
  let fineTunedModel: string;
  let real: RealRuns;
  const consoleErrors: string[] = [];

  const open = (path: string) => page.goto(`${api.url}/dashboard${path}`);
  const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name }).waitFor();

  /** A job's metric rows as the dashboard reads them (GET …/metrics, oldest first). */
  async function metricsOf(id: string): Promise<Record<string, number>[]> {
    const response = await fetch(`${api.url}/v1/fine_tuning/jobs/${id}/metrics`, {
      headers: { Authorization: `Bearer ${api.adminKey}` },
    });
    const body = (await response.json()) as { data: { metrics: Record<string, number> }[] };
    return body.data.map((row) => row.metrics);
  }

  async function signIn(target: Page, key: string): Promise<void> {
    await target.goto(`${api.url}/dashboard/`);
    await target.getByLabel('API key').fill(key);
    await target.getByRole('button', { name: 'Sign in' }).click();
    await heading(target, 'Runs');
  }

  beforeAll(async () => {
    // The api proxies /v1/chat/completions to a real inference process (built tt-nano weights, wasm backend).
    dataDir = await mkdtemp(join(tmpdir(), 'tt-dashboard-e2e-'));
    inference = await startApp(
      'inference',
      { TRACETUNE_DATA_DIR: dataDir, TRACETUNE_BACKEND: 'wasm' },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({
      TRACETUNE_DASHBOARD_DIR: join(WORKSPACE_ROOT, 'apps', 'dashboard', 'dist'),
      TRACETUNE_DATA_DIR: dataDir,
      INFERENCE_URL: inference.url,
    });
    client = api.openai(api.adminKey);
    // Real jobs first, while no seeded job is queued (the worker stops before the seeds are created).
    real = await runRealJobs(api, client, dataDir);
    seed = new Seeder(api);
    const training = await uploadTrainingFile(client);
    await uploadFile(client, 'broken.jsonl', [
      '{"messages":[{"role":"user","content":"2+2?"}],"answer":"4"}',
      '{"messages": [',
      '{"answer":"5"}',
    ]);
    lambdaRun = await createRun(client, training, { suffix: 'lambda', algorithm: 'grpo_lambda' });
    baselineRun = await createRun(client, training, { suffix: 'baseline', algorithm: 'grpo' });
    spareRun = await createRun(client, training, { suffix: 'spare', algorithm: 'grpo_lambda' });
    await seed.markRunning(lambdaRun, 40, 100, 900);
    await seed.markRunning(baselineRun, 40, 100, 1200);
    await seed.writeMetrics(lambdaRun, steps(1, 40, LAMBDA));
    await seed.writeMetrics(baselineRun, steps(1, 40, BASELINE));
    await seed.writeEvent(lambdaRun, { message: 'Fine-tuning job started on worker cpu-1' });
    await seed.writeEvent(lambdaRun, { message: 'Training on the wasm backend (no GPU found)' });
    for (const step of [20, 40]) {
      await seed.writeEvent(lambdaRun, {
        message: `Sample completions at step ${step}`,
        data: {
          step,
          samples: [
            { prompt: 'What is 7+5?', completion: `Adding 7 and 5 gives 12. #### 12`, reward: 1 },
            { prompt: 'What is 9+11?', completion: `9 + 11 = 21 #### 21`, reward: 0 },
          ],
        },
      });
    }
    ({ checkpoint: checkpointModel, fineTuned: fineTunedModel } = await seed.writeCheckpoint(
      lambdaRun,
      30,
      syntheticMetrics(30, LAMBDA),
    ));
    browser = await launchBrowser();
    page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error')
        consoleErrors.push(`${page.url()}: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`${page.url()}: ${error.message}`));
  }, 420_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await inference?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('should refuse a wrong key, then sign in and list every run with its progress and latest reward', async () => {
    await page.goto(`${api.url}/dashboard/`);
    await page.getByLabel('API key').fill('tt-not-a-real-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'refused' }).waitFor();

    await signIn(page, api.adminKey);
    expect(page.url()).not.toContain(api.adminKey);
    expect(await page.evaluate(STORED_KEY)).toBe(api.adminKey);
    const lambdaRow = page.locator(`tr[data-job="${lambdaRun}"]`);
    await lambdaRow
      .locator('[data-cell="reward"]', { hasText: shown(syntheticMetrics(40, LAMBDA)['reward']) })
      .waitFor();
    expect(await lambdaRow.textContent()).toContain('40 / 100');
    expect(await lambdaRow.textContent()).toContain('GRPO-λ');
    expect(await page.locator(`tr[data-job="${baselineRun}"]`).textContent()).toContain('GRPO');
    // 3 seeded runs and 5 real ones (SFT, 2 × GRPO-λ, 2 × GRPO).
    expect(await page.locator('tbody tr').count()).toBe(8);

    const rows = (count: number) =>
      page.waitForFunction(`document.querySelectorAll('tbody tr').length === ${count}`);
    await page.getByLabel('Search').fill('baseline');
    await rows(1);
    expect(await page.locator(`tr[data-job="${baselineRun}"]`).count()).toBe(1);
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Status').selectOption('queued');
    await rows(1);
    expect(await page.locator(`tr[data-job="${spareRun}"]`).count()).toBe(1);
    await page.getByLabel('Status').selectOption('all');
    await rows(8);
    await page.evaluate('document.activeElement?.blur()');
    await screenshot(page, 'runs');
    // Narrow screens: the layout reflows to one column and the table scrolls sideways instead of overflowing.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await screenshot(page, 'runs-narrow');
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('should chart every metric of a run and add points live as new steps land', async () => {
    await page.getByRole('link', { name: lambdaRun }).click();
    await heading(page, `Run ${lambdaRun}`);
    await page.getByRole('status').filter({ hasText: 'Live' }).waitFor();
    await page.waitForSelector('figure[data-metric="reward"][data-points="40"]');
    const charted = await page
      .locator('figure[data-metric]')
      .evaluateAll((figures) => figures.map((f) => f.getAttribute('data-metric')));
    expect(charted).toEqual(expect.arrayContaining(Object.keys(syntheticMetrics(40, LAMBDA))));
    expect(await page.locator('figure[data-metric="eval_accuracy"]').getAttribute('data-points')).toBe('4');

    // The page is open on a live stream: rows written now must reach the charts without a reload.
    await seed.writeMetrics(lambdaRun, steps(41, 45, LAMBDA));
    await seed.setStep(lambdaRun, 45);
    await page.waitForSelector('figure[data-metric="reward"][data-points="45"]', { timeout: 10_000 });
    await page.waitForSelector('figure[data-metric="kl"][data-points="45"]');
    await page.getByText('45 / 100').first().waitFor();
    expect(await page.locator('figure[data-metric="reward"] .chart-latest').textContent()).toBe(
      shown(syntheticMetrics(45, LAMBDA)['reward']),
    );
    await screenshot(page, 'run-live');
  });

  it('should fall back to polling the metrics when the stream cannot be opened, and still gain points', async () => {
    const other = await browser.newPage();
    // A proxy that breaks long-lived responses, simulated: every stream request fails at the network level.
    await other.route('**/stream?*', (route) => route.abort('connectionreset'));
    await signIn(other, api.adminKey);
    await other.goto(`${api.url}/dashboard/runs/${baselineRun}`);
    await heading(other, `Run ${baselineRun}`);
    await other.getByRole('status').filter({ hasText: 'polling' }).waitFor();
    await other.waitForSelector('figure[data-metric="reward"][data-points="40"]');
    await seed.writeMetrics(baselineRun, steps(41, 42, BASELINE));
    await other.waitForSelector('figure[data-metric="reward"][data-points="42"]', { timeout: 10_000 });
    await other.close();
  });

  it('should show the settings, event log, sample completions and checkpoints with a try-it link', async () => {
    const settings = page.locator('#settings');
    expect(await settings.getByLabel('algorithm settings').textContent()).toContain('grpo_lambda');
    expect(await settings.getByLabel('hyperparameters').textContent()).toContain('batch_size');

    const log = page.locator('#events');
    await log.getByText('Fine-tuning job started on worker cpu-1').waitFor();
    await log.getByText(`Created fine-tuning job: ${lambdaRun}`).waitFor();
    await seed.writeEvent(lambdaRun, { level: 'warn', message: 'Grader timed out on 1 sample at step 45' });
    await log.getByText('Grader timed out on 1 sample at step 45').waitFor({ timeout: 10_000 });

    const samples = page.locator('#samples');
    await samples.getByText('Adding 7 and 5 gives 12. #### 12').waitFor();
    expect(await samples.getByLabel('Step').inputValue()).toBe('40');
    expect(await samples.locator('.reward').allTextContents()).toEqual(['reward 1', 'reward 0']);

    const checkpoints = page.locator('#checkpoints');
    await checkpoints.getByText(checkpointModel).waitFor();
    const tryIt = checkpoints.getByRole('link', { name: 'Try it' });
    expect(await tryIt.getAttribute('href')).toBe(
      `/dashboard/playground?model=${encodeURIComponent(checkpointModel)}`,
    );
  });

  it('should lay out a real GRPO-λ run by meaning, with smoothing, log scale and a sampled-tokens axis', async () => {
    const run = real.lambda[0];
    await open(`/runs/${run.id}`);
    await heading(page, `Run ${run.id}`);
    await page.waitForSelector('figure[data-metric="reward"][data-points="4"]');
    const sections = await page
      .locator('details.metric-group')
      .evaluateAll((ds) => ds.map((d) => d.getAttribute('data-group')));
    const order = ['reward', 'policy', 'completions', 'optimiser', 'throughput'];
    expect(sections.filter((g) => order.includes(g as string))).toEqual(order);
    const rewardCharts = await page
      .locator('details[data-group="reward"] figure[data-metric]')
      .evaluateAll((fs) => fs.map((f) => f.getAttribute('data-metric')));
    expect(rewardCharts.slice(0, 2)).toEqual(['reward', 'accuracy']);

    const reward = page.locator('figure[data-metric="reward"]');
    await reward.getByLabel('Smoothing of reward').fill('0.6');
    await page.waitForSelector('figure[data-metric="reward"] [aria-label*="EMA 0.60"]');
    await page.getByRole('checkbox', { name: 'Log scale for grad_norm', exact: true }).check();
    await page.waitForSelector('figure[data-metric="grad_norm"][data-log="true"]');
    await page.getByLabel('X axis').selectOption('sampled_tokens');
    await page.waitForSelector('figure[data-metric="reward"] [aria-label^="reward over sampled tokens"]');

    // The running total the trainer logs is what the axis uses: strictly increasing, the sum of per-step counts.
    const metrics = await metricsOf(run.id);
    let sum = 0;
    for (const m of metrics) {
      sum += m['sampled_tokens'];
      expect(m['sampled_tokens_total']).toBe(sum);
    }
    // The top of the page: the summary and the first sections (the whole page is several screens long).
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'run-detail', { fullPage: false });
    await page.setViewportSize({ width: 1280, height: 860 });
  });

  it('should show whole groups with advantages, filter by reward, and colour tokens by the logged credit', async () => {
    const run = real.lambda[0];
    const events: { data?: unknown }[] = [];
    for await (const event of client.fineTuning.jobs.listEvents(run.id, { limit: 100 })) events.push(event);
    const logged = events
      .map((e) => e.data as { step?: number; samples?: LoggedSample[] } | null)
      .filter((d): d is { step: number; samples: LoggedSample[] } => Array.isArray(d?.samples))
      .sort((a, b) => b.step - a.step)[0];
    expect(logged.samples).toHaveLength(8); // 2 prompts × 4 completions

    const samples = page.locator('#samples');
    await samples.locator('article.sample-group').nth(1).waitFor();
    expect(await samples.locator('article.sample-group').count()).toBe(2);
    expect(await samples.locator('article.sample-group[data-group="0"] li').count()).toBe(4);
    expect(await samples.locator('figure[data-histogram^="Rewards"]').getAttribute('data-count')).toBe('8');
    const best = Math.max(...logged.samples.map((x) => x.reward ?? 0));
    await samples.getByLabel('Reward from').fill(String(best));
    const kept = logged.samples.filter((x) => (x.reward ?? 0) >= best).length;
    await page.waitForFunction(
      `document.querySelectorAll('#samples article.sample-group li').length === ${kept}`,
    );
    await samples.getByLabel('Reward from').fill('');
    await screenshotOf(samples, 'samples');

    // One token of a completion logged with per-token numbers: its colour is the logged Ã × W on the view's scale.
    const group = logged.samples.filter((x) => x.group === 0);
    const index = Math.max(
      0,
      group.findIndex((x) => x.tokens && x.advantage !== 0),
    );
    const sample = group[index];
    const tokens = sample.tokens as NonNullable<LoggedSample['tokens']>;
    await samples
      .locator('article.sample-group[data-group="0"] li')
      .nth(index)
      .getByRole('button', { name: 'Token credit' })
      .click();
    const k = tokens.credit.reduce(
      (best, c, i) => (Math.abs(c) < Math.abs(tokens.credit[best]) || c === 0 ? best : i),
      0,
    );
    const token = samples.locator(`.credit-panel[data-estimator="grpo_lambda"] .token[data-k="${k}"]`);
    expect(Number(await token.getAttribute('data-credit'))).toBe(tokens.credit[k]);
    // The GRPO-λ panel's own scale: full colour at its largest |credit|.
    const scale = Math.max(...tokens.credit.map(Math.abs));
    const alpha = scale > 0 ? Math.round(Math.min(1, Math.abs(tokens.credit[k]) / scale) * 100) / 100 : 0;
    const rgb = tokens.credit[k] < 0 ? '0, 114, 178' : '213, 94, 0';
    expect(await token.getAttribute('style')).toBe(
      `background-color: ${alpha === 1 ? `rgb(${rgb})` : `rgba(${rgb}, ${alpha})`};`,
    );
    expect(await token.getAttribute('title')).toContain(`log-prob ${tokens.logprob[k]}`);
    expect(await token.getAttribute('title')).toContain(`trace weight ${tokens.weight[k]}`);
    await screenshotOf(samples.locator('article.sample-group[data-group="0"] li').nth(index), 'credit-view');
  });

  it('should band real runs by metadata.arm over seeds, diff their configs and export a monotonic token axis', async () => {
    const runs = [...real.lambda, ...real.grpo];
    await open(
      `/compare?runs=${runs.map((r) => r.id).join(',')}&metrics=reward,completions/mean_length&x=sampled_tokens&group=arm`,
    );
    await heading(page, 'Compare runs');
    await page.waitForSelector('figure[data-metric="completions/mean_length"]');
    const legend = await page.locator('figure[data-metric="reward"] .u-legend').textContent();
    expect(legend).toContain('grpo_lambda (mean of 2)');
    expect(legend).toContain('grpo (mean of 2)');
    const diff = await page.locator('table.config-diff').textContent();
    expect(diff).toContain('method.reinforcement.algorithm.name');
    expect(diff).toContain('metadata.arm');
    expect(diff).toContain('seed');
    await screenshot(page, 'compare');

    await page.getByLabel('Group runs by').selectOption('');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('metric,series,sampled tokens,value');
    for (const run of runs) {
      // The label holds commas, so it is quoted: x and value are the last two fields.
      const xs = csv
        .filter((line) => line.replace('"', '').startsWith(`reward,${run.id.slice(0, 14)}`))
        .map((line) => Number(line.split(',').at(-2)));
      const totals = (await metricsOf(run.id)).map((m) => m['sampled_tokens_total']);
      expect(xs).toEqual(totals);
      xs.slice(1).forEach((x, i) => expect(x).toBeGreaterThan(xs[i]));
    }
  });

  it("should open the docs' learning benchmark results as a comparison with bands per arm", async () => {
    await open('/compare');
    await heading(page, 'Compare runs');
    const bench = page.locator('details.bench-comparison');
    await bench.locator('summary').click();
    const input = bench.getByLabel('Results file');
    await input.setInputFiles({
      name: 'other.json',
      mimeType: 'application/json',
      buffer: Buffer.from('{}'),
    });
    await bench.getByRole('alert').filter({ hasText: 'Not a learning benchmark results file' }).waitFor();
    await input.setInputFiles(join(WORKSPACE_ROOT, 'docs', 'learning-results.json'));
    await bench.locator('figure[data-metric="eval_accuracy"]').waitFor();
    const legend = await bench.locator('figure[data-metric="eval_accuracy"] .u-legend').textContent();
    expect(legend).toContain('grpo (mean of');
    expect(legend).toContain('grpo_lambda_recent (mean of');
    await screenshotOf(bench, 'compare-benchmark');
  });

  it('should pause, resume and cancel a run, each only after confirmation', async () => {
    await open(`/runs/${spareRun}`);
    await heading(page, `Run ${spareRun}`);
    const actions = page.locator('.page-actions');
    await actions.getByRole('button', { name: 'Pause', exact: true }).click();
    await actions.getByRole('button', { name: 'Pause run' }).click();
    await page.locator('.summary .badge', { hasText: 'paused' }).waitFor();
    expect((await client.fineTuning.jobs.retrieve(spareRun)).status).toBe('paused');

    await actions.getByRole('button', { name: 'Resume', exact: true }).click();
    await actions.getByRole('button', { name: 'Resume run' }).click();
    await page.locator('.summary .badge', { hasText: 'queued' }).waitFor();

    await actions.getByRole('button', { name: 'Cancel', exact: true }).click();
    await actions.getByRole('button', { name: 'Keep' }).click();
    expect((await client.fineTuning.jobs.retrieve(spareRun)).status).toBe('queued');
    await actions.getByRole('button', { name: 'Cancel', exact: true }).click();
    await actions.getByRole('button', { name: 'Cancel run' }).click();
    await page.locator('.summary .badge', { hasText: 'cancelled' }).waitFor();
    expect((await client.fineTuning.jobs.retrieve(spareRun)).status).toBe('cancelled');
    expect(await actions.getByRole('button', { name: 'Cancel', exact: true }).isDisabled()).toBe(true);
  });

  it('should overlay seeded runs for a chosen metric, by step and by sampled tokens', async () => {
    await open('/runs');
    await page.getByLabel(`Select ${lambdaRun} for comparison`).check();
    await page.getByLabel(`Select ${baselineRun} for comparison`).check();
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    await heading(page, 'Compare runs');
    // Steps 1–45 of one run and 1–42 of the other share the step axis: 45 x values.
    await page.waitForSelector('figure[data-metric="reward"][data-points="45"]');
    const legend = await page.locator('.u-legend').textContent();
    expect(legend).toContain(lambdaRun.slice(0, 14));
    expect(legend).toContain(baselineRun.slice(0, 14));

    await page.getByText('Metrics (1)').click();
    await page.getByRole('checkbox', { name: 'kl', exact: true }).check();
    await page.waitForSelector('figure[data-metric="kl"]');
    await page.getByLabel('Align by').selectOption('sampled_tokens');
    const tokens = new Set(
      [...steps(1, 45, LAMBDA), ...steps(1, 42, BASELINE)].map((row) => row.metrics['sampled_tokens_total']),
    );
    await page.waitForSelector(`figure[data-metric="kl"][data-points="${tokens.size}"]`);
    expect(page.url()).toContain('x=sampled_tokens');
    expect(page.url()).toContain('metrics=reward%2Ckl');
  });

  it('should list files with their validation status and errors, and preview the first rows', async () => {
    await open('/data');
    await heading(page, 'Data');
    await page.getByRole('link', { name: 'broken.jsonl' }).click();
    const details = page.locator('section.panel');
    await details.getByText('line 2', { exact: true }).waitFor();
    expect(await page.locator('tr', { hasText: 'broken.jsonl' }).locator('.badge').textContent()).toBe(
      'error',
    );
    await details.locator('ol.preview li').nth(2).waitFor();
    expect(await details.locator('ol.preview li').count()).toBe(3);
    await screenshot(page, 'data');

    await page.getByRole('link', { name: 'arithmetic.jsonl' }).click();
    await details.getByText('First 20 lines shown.').waitFor();
    expect(await details.locator('ol.preview li').count()).toBe(20);
    expect(await details.locator('ol.preview li').first().textContent()).toContain('What is 3+1?');
  });

  it('should dry-run a grader and show its reward, sub-rewards and error flags', async () => {
    await open('/graders');
    await heading(page, 'Graders');
    await page.getByRole('button', { name: 'Run grader' }).click();
    await page.locator('[data-testid="grader-reward"]', { hasText: '1' }).waitFor();

    await page.getByLabel('Item (JSON').fill('{}');
    await page.getByRole('button', { name: 'Run grader' }).click();
    await page.getByText('invalid_variable_error').waitFor();
    expect(await page.locator('[data-testid="grader-reward"]').textContent()).toBe('0');

    await page.getByLabel('Grader (JSON)').fill(
      JSON.stringify(
        {
          type: 'multi',
          name: 'answer_and_format',
          graders: {
            answer: {
              type: 'math_answer',
              name: 'answer',
              input: '{{sample.output_text}}',
              reference: '{{item.answer}}',
            },
            format: {
              type: 'string_check',
              name: 'format',
              input: '{{sample.output_text}}',
              reference: '####',
              operation: 'like',
            },
          },
          calculate_output: '0.75 * answer + 0.25 * format',
        },
        null,
        2,
      ),
    );
    await page.getByLabel('Model sample').fill('The answer is 41');
    await page.getByLabel('Item (JSON').fill('{"answer": "41"}');
    await page.getByRole('button', { name: 'Run grader' }).click();
    await page.locator('[data-testid="grader-reward"]', { hasText: '0.75' }).waitFor();
    const subRewards = await page.locator('section.panel .key-values').textContent();
    expect(subRewards).toContain('answer');
    expect(subRewards).toContain('format');
    await screenshot(page, 'graders');
  });

  it('should show base, fine-tuned and checkpoint models as a lineage tree, each with a playground link', async () => {
    await open('/models');
    await heading(page, 'Models');
    await page.getByText(checkpointModel, { exact: true }).waitFor();
    // The id shown in the row of the tree node one level above the model's own node.
    const parentOf = (id: string) =>
      page.evaluate<string | null>(
        `[...document.querySelectorAll('.tree-row > span.mono')].find((s) => s.textContent === ${JSON.stringify(id)})
           ?.closest('ul')?.closest('li')?.querySelector(':scope > .tree-row > span.mono')?.textContent ?? null`,
      );
    expect(await parentOf(checkpointModel)).toBe(fineTunedModel);
    expect(await parentOf(fineTunedModel)).toBe('tt-nano');
    await screenshot(page, 'models');

    await page
      .locator('li', { has: page.getByText(checkpointModel, { exact: true }) })
      .last()
      .getByRole('link', { name: 'Try it' })
      .click();
    await heading(page, 'Playground');
    expect(await page.getByLabel('Model', { exact: true }).inputValue()).toBe(checkpointModel);
  });

  it("should stream a chat reply in the playground, delta by delta, equal to the API's answer for the same seed", async () => {
    await open('/playground?model=tt-nano');
    await heading(page, 'Playground');
    await page.getByLabel('System prompt').fill('You are a careful calculator.');
    await page.getByLabel('Max tokens').fill('24');
    await page.getByLabel('Seed (optional)').fill('5');
    await page.getByLabel('Message').fill('What is 2+2?');
    await page.getByRole('button', { name: 'Send' }).click();
    const reply = page.locator('[data-role="assistant"][data-done="true"]');
    await reply.waitFor({ timeout: 30_000 });
    expect(Number(await reply.getAttribute('data-chunks'))).toBeGreaterThan(1);
    const expected = await client.chat.completions.create({
      model: 'tt-nano',
      messages: [
        { role: 'system', content: 'You are a careful calculator.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      max_tokens: 24,
      seed: 5,
      temperature: 0.7,
      top_p: 1,
    });
    expect(await reply.locator('.pre-wrap').textContent()).toBe(expected.choices[0].message.content);
    expect(await page.getByRole('alert').count()).toBe(0);
    await screenshot(page, 'playground');
  });

  it('should run base and tuned side by side on the same prompt and seed, each equal to the API answer', async () => {
    const tuned = real.lambda[0].fine_tuned_model as string;
    await open(`/playground?model=${encodeURIComponent(tuned)}`);
    await heading(page, 'Playground');
    const panel = page.locator('section.side-by-side');
    expect(await panel.getByLabel('Base model').inputValue()).toBe('tt-nano');
    await page.getByLabel('Max tokens').fill('12');
    await panel.getByLabel('Same seed').fill('3');
    await panel.getByLabel('Prompt for both').fill('3+4=');
    await panel.getByRole('button', { name: 'Run both' }).click();
    for (const model of ['tt-nano', tuned]) {
      const reply = panel.locator(`[data-model="${model}"][data-done="true"]`);
      await reply.waitFor({ timeout: 30_000 });
      const expected = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: '3+4=' }],
        max_tokens: 12,
        seed: 3,
        temperature: 0.7,
        top_p: 1,
      });
      expect(await reply.locator('.pre-wrap').textContent()).toBe(expected.choices[0].message.content);
    }
    await screenshotOf(panel, 'playground-side-by-side');
  });

  it('should create a key shown once, and send a tab signed in with it back to sign-in once it is revoked', async () => {
    await open('/keys');
    await heading(page, 'API keys');
    await page.getByLabel('Name').fill('e2e-temporary');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.locator('[data-testid="new-key"]').textContent())!.trim();
    expect(secret).toMatch(/^tt-/);

    const other = await browser.newPage();
    await signIn(other, secret);
    expect(await other.getByRole('link', { name: 'API keys' }).count()).toBe(0);

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.locator('[data-testid="new-key"]').count()).toBe(0);
    const row = page.locator('tr[data-key="e2e-temporary"]');
    await row.getByRole('button', { name: 'Revoke' }).click();
    await screenshot(page, 'api-keys');
    await row.getByRole('button', { name: 'Revoke key' }).click();
    await row.getByText('revoked').waitFor();

    // The other tab polls its runs every few seconds; the first 401 returns it to sign-in and forgets the key.
    await other.getByText('Your API key stopped working').waitFor({ timeout: 15_000 });
    await other.getByLabel('API key').waitFor();
    expect(await other.evaluate(STORED_KEY)).toBeNull();
    await screenshot(other, 'sign-in');
    await other.close();
  });
  it('should have logged no console error on any page it visited', () => {
    // The wrong key of the first test is refused with a 401 on purpose; the browser reports that response itself.
    expect(consoleErrors.filter((e) => !e.includes('status of 401'))).toEqual([]);
  });
});
