import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createGrader } from '../registry';
import { sampleFromText } from '../template';
import { JudgeClient, type JudgeClientOptions } from './judge-client';

/** What the test double of a third-party judge answers to one request. */
interface Reply {
  status?: number;
  content?: string;
  refusal?: string;
  delayMs?: number;
  headers?: Record<string, string>;
}

/** A tiny OpenAI-compatible chat-completions server on 127.0.0.1 (ephemeral port). */
class FakeJudge {
  readonly requests: Record<string, unknown>[] = [];
  inFlight = 0;
  maxInFlight = 0;
  reply: (n: number, body: Record<string, unknown>) => Reply = () => ({
    content: '{"steps": [], "result": 1}',
  });
  private server: Server = createServer((req, res) => void this.handle(req, res));

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = JSON.parse(raw) as Record<string, unknown>;
    this.requests.push(body);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const r = this.reply(this.requests.length, body);
    if (r.delayMs) await new Promise((resolve) => setTimeout(resolve, r.delayMs));
    this.inFlight--;
    if (res.destroyed) return;
    const status = r.status ?? 200;
    res.writeHead(status, { 'content-type': 'application/json', ...r.headers });
    if (status !== 200) {
      res.end(
        JSON.stringify({
          error: { message: 'judge exploded', type: 'server_error', param: null, code: null },
        }),
      );
      return;
    }
    res.end(
      JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 0,
        model: `${String(body.model)}-2025`,
        choices: [
          {
            index: 0,
            finish_reason: 'stop',
            logprobs: null,
            message: { role: 'assistant', content: r.content ?? null, refusal: r.refusal ?? null },
          },
        ],
        usage: {
          prompt_tokens: 10,
          completion_tokens: 5,
          total_tokens: 15,
          prompt_tokens_details: { cached_tokens: 2 },
        },
      }),
    );
  }
}

const scoreGrader = {
  type: 'score_model',
  name: 'judge',
  model: 'judge-model',
  input: [
    { role: 'system', content: 'You grade answers.' },
    {
      role: 'user',
      content: [{ type: 'input_text', text: 'Q: {{item.question}}\nA: {{sample.output_text}}' }],
    },
  ],
  range: [0, 10],
  sampling_params: { temperature: 0, seed: 7, max_completions_tokens: 100 },
};

const labelGrader = {
  type: 'label_model',
  name: 'labeller',
  model: 'judge-model',
  input: [{ role: 'user', content: 'Is "{{sample.output_text}}" polite?' }],
  labels: ['polite', 'neutral', 'rude'],
  passing_labels: ['polite', 'neutral'],
};

describe('model graders against a local judge server', () => {
  const judge = new FakeJudge();
  let baseURL = '';
  const opts = (extra: Partial<JudgeClientOptions> = {}): JudgeClientOptions => ({
    baseURL,
    apiKey: 'test-key',
    maxRetries: 0,
    ...extra,
  });

  beforeAll(async () => {
    baseURL = await judge.start();
  });
  afterAll(() => judge.stop());
  beforeEach(() => {
    judge.requests.length = 0;
    judge.maxInFlight = 0;
  });

  describe('score_model', () => {
    it('should send the templated messages with a JSON schema and read the result', async () => {
      judge.reply = () => ({
        content: '{"steps": [{"description": "checks", "conclusion": "ok"}], "result": 7.5}',
      });
      const r = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('Paris'), {
        question: 'Capital of France?',
      });
      expect(r.score).toBe(7.5);
      expect(r.sampledModelName).toBe('judge-model-2025');
      expect(r.tokenUsage).toEqual({
        'judge-model-2025': { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, cached_tokens: 2 },
      });
      const body = judge.requests[0];
      expect(body.model).toBe('judge-model');
      expect(body.messages).toEqual([
        { role: 'system', content: 'You grade answers.' },
        { role: 'user', content: 'Q: Capital of France?\nA: Paris' },
      ]);
      expect(body).toMatchObject({ temperature: 0, seed: 7, max_completion_tokens: 100 });
      expect(body.response_format).toMatchObject({
        type: 'json_schema',
        json_schema: {
          strict: true,
          schema: { required: ['steps', 'result'], properties: { result: { type: 'number' } } },
        },
      });
    });

    it('should clamp the result to range and accept fenced JSON', async () => {
      judge.reply = () => ({ content: 'Here you go:\n```json\n{"steps": [], "result": 15}\n```' });
      const r = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('x'), {
        question: 'q',
      });
      expect(r.score).toBe(10);
    });

    it('should count an answer without a numeric result as model_grader_parse_error', async () => {
      judge.reply = () => ({ content: 'I think it is good.' });
      const r = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('x'), {
        question: 'q',
      });
      expect(r.score).toBe(0);
      expect(r.errors.model_grader_parse_error).toBe(true);
      // the call was made and paid for: its tokens still count
      expect(r.tokenUsage['judge-model-2025'].total_tokens).toBe(15);
      judge.reply = () => ({ content: '{"result": "high"}' });
      const r2 = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('x'), {
        question: 'q',
      });
      expect(r2.errors.model_grader_parse_error).toBe(true);
    });

    it('should count a refusal as model_grader_refusal_error', async () => {
      judge.reply = () => ({ refusal: 'I cannot grade this.' });
      const r = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('x'), {
        question: 'q',
      });
      expect(r.score).toBe(0);
      expect(r.errors.model_grader_refusal_error).toBe(true);
    });

    it('should count a judge timeout as model_grader_server_error', async () => {
      judge.reply = () => ({ delayMs: 1500, content: '{"steps": [], "result": 1}' });
      const t0 = Date.now();
      const r = await createGrader(scoreGrader, { judge: opts({ timeoutMs: 150 }) }).grade(
        sampleFromText('x'),
        { question: 'q' },
      );
      expect(Date.now() - t0).toBeLessThan(1200);
      expect(r.score).toBe(0);
      expect(r.errors.model_grader_server_error).toBe(true);
      expect(r.errors.model_grader_server_error_details).toBe('judge request timed out');
    });

    it('should retry a judge 500 and succeed', async () => {
      // retry-after-ms keeps the SDK's backoff short in the test
      judge.reply = (n) =>
        n < 3
          ? { status: 500, headers: { 'retry-after-ms': '5' } }
          : { content: '{"steps": [], "result": 4}' };
      const r = await createGrader(scoreGrader, { judge: opts({ maxRetries: 2 }) }).grade(
        sampleFromText('x'),
        { question: 'q' },
      );
      expect(judge.requests).toHaveLength(3);
      expect(r.score).toBe(4);
    });

    it('should count a judge that keeps failing with 500 after its retries', async () => {
      judge.reply = () => ({ status: 500, headers: { 'retry-after-ms': '5' } });
      const r = await createGrader(scoreGrader, { judge: opts({ maxRetries: 1 }) }).grade(
        sampleFromText('x'),
        { question: 'q' },
      );
      expect(judge.requests).toHaveLength(2);
      expect(r.score).toBe(0);
      expect(r.errors.model_grader_server_error).toBe(true);
      expect(r.errors.model_grader_server_error_details).toContain('500');
    });

    it('should count a judge endpoint that is down (connection refused)', async () => {
      const down = new FakeJudge();
      const downURL = await down.start();
      await down.stop();
      const r = await createGrader(scoreGrader, {
        judge: { baseURL: downURL, apiKey: 'k', maxRetries: 0 },
      }).grade(sampleFromText('x'), { question: 'q' });
      expect(r.score).toBe(0);
      expect(r.errors.model_grader_server_error).toBe(true);
      expect(r.errors.model_grader_server_error_details).toContain('judge request failed');
    });

    it('should count a missing template variable without calling the judge', async () => {
      const r = await createGrader(scoreGrader, { judge: opts() }).grade(sampleFromText('x'), {});
      expect(r.errors.invalid_variable_error).toBe(true);
      expect(judge.requests).toHaveLength(0);
    });
  });

  describe('label_model', () => {
    it.each([
      ['polite', 1],
      ['neutral', 1],
      ['rude', 0],
    ])('should score the label %s as %d', async (label, expected) => {
      judge.reply = () => ({ content: JSON.stringify({ steps: [], result: label }) });
      const r = await createGrader(labelGrader, { judge: opts() }).grade(sampleFromText('thanks!'), {});
      expect(r.score).toBe(expected);
      expect(r.errors.model_grader_parse_error).toBe(false);
    });

    it('should ask for one of the labels and reject any other', async () => {
      judge.reply = () => ({ content: '{"steps": [], "result": "sarcastic"}' });
      const r = await createGrader(labelGrader, { judge: opts() }).grade(sampleFromText('thanks!'), {});
      expect(r.errors.model_grader_parse_error).toBe(true);
      expect(judge.requests[0].response_format).toMatchObject({
        json_schema: {
          schema: { properties: { result: { type: 'string', enum: ['polite', 'neutral', 'rude'] } } },
        },
      });
      expect(judge.requests[0].messages).toEqual([{ role: 'user', content: 'Is "thanks!" polite?' }]);
    });
  });

  it('should honour the concurrency limit shared by graders', async () => {
    // A server of its own: a request left hanging by the timeout test would count as in flight.
    const judge = new FakeJudge();
    const url = await judge.start();
    judge.reply = () => ({ delayMs: 60, content: '{"steps": [], "result": "polite"}' });
    try {
      const client = new JudgeClient({ baseURL: url, apiKey: 'k', maxConcurrency: 2 });
      const a = createGrader(labelGrader, { judge: client });
      const b = createGrader({ ...labelGrader, name: 'other' }, { judge: client });
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).grade(sampleFromText('hi'), {})),
      );
      expect(results.every((r) => r.score === 1)).toBe(true);
      expect(judge.requests).toHaveLength(6);
      expect(judge.maxInFlight).toBe(2);
    } finally {
      await judge.stop();
    }
  });
});
