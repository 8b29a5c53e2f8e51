import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type OpenAI from 'openai';
import type { Page } from 'playwright-core';

import { WORKSPACE_ROOT } from '@tracetune/testing';

import { startTestApi, type TestApi } from '../../api/test/api-test-app';
import { startApp, type RunningProcess } from '../../api/test/processes';
import { launchBrowser, screenshot, type Browser } from './support/browser';
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

describe('dashboard in a real browser (real api, database and inference; no worker, so training rows are written with SQL)', () => {
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

  const open = (path: string) => page.goto(`${api.url}/dashboard${path}`);
  const heading = (p: Page, name: string | RegExp) => p.getByRole('heading', { level: 1, name }).waitFor();

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
    await seed.writeEvent(lambdaRun, { message: 'Fine-tuning job started on worker gpu-0' });
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
  }, 120_000);

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
    expect(await page.locator('tbody tr').count()).toBe(3);

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
    await rows(3);
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
    await screenshot(page, 'run-detail');
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
    await log.getByText('Fine-tuning job started on worker gpu-0').waitFor();
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

  it('should overlay two runs for a chosen metric, by step and by sampled tokens', async () => {
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

    await page.getByLabel('Metric').selectOption('kl');
    await page.waitForSelector('figure[data-metric="kl"]');
    await page.getByLabel('sampled tokens').check();
    const tokens = new Set(
      [...steps(1, 45, LAMBDA), ...steps(1, 42, BASELINE)].map((row) => row.metrics['sampled_tokens_total']),
    );
    await page.waitForSelector(`figure[data-metric="kl"][data-points="${tokens.size}"]`);
    expect(page.url()).toContain('x=sampled_tokens');
    await page.getByLabel('Metric').selectOption('reward');
    await page.waitForSelector('figure[data-metric="reward"]');
    await screenshot(page, 'compare');
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
    expect(await page.getByLabel('Model').inputValue()).toBe(checkpointModel);
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
});
