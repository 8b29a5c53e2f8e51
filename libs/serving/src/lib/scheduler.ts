import {
  contextLength,
  logSoftmax,
  Rng,
  sampleToken,
  slotCacheBytes,
  StopChecker,
  topN,
} from '@tracetune/model';
import { IncrementalDecoder, type Tokenizer } from '@tracetune/tokenizer';

import { sampleConstrained } from './constrained-sampling';
import { outputConstraint, type OutputConstraint } from './constraints';
import { createDecodeBatch, type DecodeBatch } from './decode-batch';
import type { LoadedModel, ModelCache } from './model-cache';
import type { GenerationEvent, GenerationRequest, Prompt, TokenLogprobInfo } from './request';

/** Sequences prefilled per scheduler iteration: new requests join quickly without stalling running ones. */
const ADMIT_PER_ITERATION = 8;

interface Sequence {
  request: RequestState;
  choice: number;
  prompt: number[];
  rng: Rng;
  stop: StopChecker;
  generated: number[];
  /** Visible text of `generated` (special tokens skipped), decoded token by token. */
  text: IncrementalDecoder;
  emitted: string;
  /** The output format's automaton (`response_format`), null for free text. */
  constraint: OutputConstraint | null;
  finished: boolean;
}

interface RequestState {
  request: GenerationRequest;
  model: LoadedModel;
  promptTokens: number;
  maxTokens: number;
  open: number;
  completionTokens: number;
  cancelled: boolean;
}

interface Batch {
  model: LoadedModel;
  rows: Sequence[];
  /** Keys and values of `rows`, in the same order. */
  kv: DecodeBatch;
  /** Most rows at once and longest worst case (prompt + max tokens) so far: the KV buffers never shrink while it runs. */
  peakRows: number;
  peakLength: number;
}

export interface SchedulerOptions {
  /**
   * Keys and values of all running sequences at their longest (prompt + max tokens, as the slot caches grow), in bytes:
   * a sequence joins only while this holds (first come, first served), so a burst of requests queues instead of
   * exhausting memory (on wasm, a full heap corrupts tfjs). One sequence always runs, whatever its size.
   */
  kvBudgetBytes?: number;
  /** Told of every decode step (metrics); the scheduler does not depend on who listens. */
  observer?: SchedulerObserver;
}

/** What the scheduler reports as it runs, for metrics (the engine thread aggregates it for /metrics). */
export interface SchedulerObserver {
  /** One decode step of a model's batch: each of its `rows` sequences got one token. */
  onStep(rows: number): void;
}

/** The most tokens a sequence can hold: its prompt and every token it may generate. */
function longest(seq: Sequence): number {
  return seq.prompt.length + seq.request.maxTokens;
}

function encodePrompt(tokenizer: Tokenizer, prompt: Prompt): number[] {
  if (prompt.kind === 'tokens') return prompt.tokens;
  if (prompt.kind === 'text') return tokenizer.encode(prompt.text);
  const text = tokenizer.applyChatTemplate(
    prompt.messages.map((m) => ({ ...m })),
    { addGenerationPrompt: true, ...(prompt.tools ? { variables: { tools: prompt.tools } } : {}) },
  );
  return tokenizer.encode(text, { addSpecialTokens: false });
}

/**
 * Continuous batching: every sequence is prefilled into its own KV cache and merged into its model's running batch;
 * each iteration decodes one token for every running row at once; finished or cancelled rows leave between steps.
 * Each sequence samples from its own PRNG (seeded from the request's seed and its choice index), so its tokens do not
 * depend on what else is in the batch.
 */
export class Scheduler {
  private readonly waiting: Sequence[] = [];
  private readonly batches = new Map<string, Batch>();
  private readonly requests = new Map<string, RequestState>();
  private running = false;

  private readonly kvBudgetBytes: number;
  private readonly observer: SchedulerObserver | undefined;

  constructor(
    private readonly models: ModelCache,
    private readonly post: (event: GenerationEvent) => void,
    options: SchedulerOptions = {},
  ) {
    this.kvBudgetBytes = options.kvBudgetBytes ?? Infinity;
    this.observer = options.observer;
  }

  get waitingSequences(): number {
    return this.waiting.length;
  }

  get runningSequences(): number {
    return [...this.batches.values()].reduce((s, b) => s + b.rows.length, 0);
  }

  /** Keys/values the running batches may grow to (peak rows at their longest): what kvBudgetBytes admits against. */
  get kvReservedBytes(): number {
    let bytes = 0;
    for (const batch of this.batches.values())
      bytes += slotCacheBytes(batch.model.model.config, batch.peakRows, batch.peakLength);
    return bytes;
  }

  get activeSequences(): number {
    return this.waiting.length + [...this.batches.values()].reduce((s, b) => s + b.rows.length, 0);
  }

  async submit(request: GenerationRequest): Promise<void> {
    let model: LoadedModel;
    try {
      model = await this.models.acquire(request.model);
    } catch (error) {
      this.post({
        type: 'error',
        id: request.id,
        status: 500,
        message: `Could not load model ${request.model.id}: ${(error as Error).message}`,
        param: 'model',
        code: 'model_load_failed',
      });
      return;
    }
    const prompts = request.prompts.map((p) => encodePrompt(model.tokenizer, p));
    const context = contextLength(model.model.config);
    const longest = Math.max(...prompts.map((p) => p.length));
    const maxTokens = request.maxTokens ?? context - longest;
    if (prompts.some((p) => p.length === 0)) {
      this.reject(model, request, 400, 'The prompt is empty.', request.promptParam, 'empty_prompt');
      return;
    }
    if (longest + maxTokens > context || maxTokens < 1) {
      // The prompt is at fault when it leaves no room for one token; otherwise the budget the caller asked for is.
      const param = longest < context ? (request.maxTokensParam ?? request.promptParam) : request.promptParam;
      this.reject(
        model,
        request,
        400,
        `This model's maximum context length is ${context} tokens. However, you requested ${longest + Math.max(maxTokens, 1)} tokens (${longest} in the ${request.promptParam}, ${Math.max(maxTokens, 1)} in the completion). Please reduce the length of the ${param === request.promptParam ? request.promptParam : `${param} or the ${request.promptParam}`}.`,
        param,
        'context_length_exceeded',
      );
      return;
    }
    const state: RequestState = {
      request,
      model,
      promptTokens: prompts.reduce((s, p) => s + p.length, 0),
      maxTokens,
      open: prompts.length * request.n,
      completionTokens: 0,
      cancelled: false,
    };
    this.requests.set(request.id, state);
    this.post({ type: 'accepted', id: request.id, promptTokens: state.promptTokens });
    const seeds = new Rng(request.seed ?? Math.floor(Math.random() * 2 ** 31));
    prompts.forEach((prompt, p) => {
      for (let c = 0; c < request.n; c++) {
        this.waiting.push({
          request: state,
          choice: p * request.n + c,
          prompt,
          rng: seeds.fork(),
          stop: new StopChecker({
            maxNewTokens: maxTokens,
            tokenizer: model.tokenizer,
            stopStrings: request.stop,
          }),
          generated: [],
          text: new IncrementalDecoder(model.tokenizer, { skipSpecialTokens: true }),
          emitted: '',
          constraint: outputConstraint(request.format),
          finished: false,
        });
      }
    });
    this.kick();
  }

  cancel(id: string): void {
    const state = this.requests.get(id);
    if (state) state.cancelled = true;
  }

  private reject(
    model: LoadedModel,
    request: GenerationRequest,
    status: number,
    message: string,
    param: string | null,
    code: string,
  ): void {
    this.models.release(model);
    this.post({ type: 'error', id: request.id, status, message, param, code });
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    setImmediate(() => this.iterate());
  }

  /**
   * One scheduler iteration: one step of every model's batch, in which each running row gets a token and a few waiting
   * sequences join (their prompts computed in the same step; see DecodeBatch).
   */
  private iterate(): void {
    try {
      const joining = new Map<string, Sequence[]>();
      for (const seq of this.admit())
        joining.set(seq.request.model.id, [...(joining.get(seq.request.model.id) ?? []), seq]);
      for (const [id, rows] of joining) {
        let batch = this.batches.get(id);
        if (!batch) {
          const model = rows[0].request.model;
          batch = {
            model,
            rows: [],
            kv: createDecodeBatch(model.model, model.prefixes),
            peakRows: 0,
            peakLength: 0,
          };
          this.batches.set(id, batch);
        }
        batch.peakRows = Math.max(batch.peakRows, batch.rows.length + rows.length);
        batch.peakLength = Math.max(batch.peakLength, ...rows.map(longest));
      }
      for (const [id, batch] of this.batches) {
        this.step(batch, joining.get(id) ?? []);
        if (batch.rows.length === 0) {
          batch.kv.dispose();
          this.batches.delete(id);
        }
      }
    } catch (error) {
      this.failAll(error as Error);
    }
    if (this.waiting.length > 0 || this.batches.size > 0) setImmediate(() => this.iterate());
    else this.running = false;
  }

  /**
   * The waiting sequences that join this iteration: in arrival order, up to ADMIT_PER_ITERATION, while the KV budget
   * holds (the first that does not fit waits, and those behind it with it); cancelled ones are dropped on the way.
   */
  private admit(): Sequence[] {
    const admitted: Sequence[] = [];
    while (this.waiting.length > 0 && admitted.length < ADMIT_PER_ITERATION) {
      const seq = this.waiting[0];
      if (seq.request.cancelled) {
        this.waiting.shift();
        this.finish(seq, 'stop', false);
        continue;
      }
      if (!this.fits([...admitted, seq])) break;
      admitted.push(seq);
      this.waiting.shift();
    }
    return admitted;
  }

  /** Whether the KV buffers of every batch, with `joining` added, stay within budget; always when nothing runs yet. */
  private fits(joining: Sequence[]): boolean {
    const running = [...this.batches.values()].some((b) => b.rows.length > 0);
    if (!running && joining.length === 1) return true;
    let bytes = 0;
    for (const id of new Set([...this.batches.keys(), ...joining.map((s) => s.request.model.id)])) {
      const batch = this.batches.get(id);
      const joins = joining.filter((s) => s.request.model.id === id);
      const config = (batch?.model ?? joins[0].request.model).model.config;
      const rows = Math.max(batch?.peakRows ?? 0, (batch?.rows.length ?? 0) + joins.length);
      bytes += slotCacheBytes(config, rows, Math.max(batch?.peakLength ?? 0, ...joins.map(longest)));
    }
    return bytes <= this.kvBudgetBytes;
  }

  /**
   * One step of a model's batch: cancelled rows leave, every running row decodes one token and the joining sequences'
   * prompts are computed (after their longest cached prefix in the model's PrefixCache: chat templates, system
   * prompts); then every row samples, and finished rows leave.
   */
  private step(batch: Batch, joining: Sequence[]): void {
    const live = batch.rows.map((row, i) => (row.request.cancelled ? -1 : i)).filter((i) => i >= 0);
    if (live.length < batch.rows.length) {
      batch.rows.filter((r) => r.request.cancelled).forEach((r) => this.finish(r, 'stop', false));
      this.keepRows(batch, live);
    }
    if (batch.rows.length === 0 && joining.length === 0) return;
    const tokens = batch.rows.map((r) => r.generated[r.generated.length - 1]);
    const logits = batch.kv.step(
      tokens,
      joining.map((seq) => seq.prompt),
    );
    batch.rows.push(...joining);
    this.observer?.onStep(batch.rows.length);
    batch.rows.forEach((row, i) => this.advance(row, logits[i]));
    const keep = batch.rows.map((r, i) => (r.finished ? -1 : i)).filter((i) => i >= 0);
    if (keep.length < batch.rows.length) this.keepRows(batch, keep);
  }

  private keepRows(batch: Batch, keep: number[]): void {
    batch.kv.keep(keep);
    batch.rows = keep.map((i) => batch.rows[i]);
  }

  /** Samples the next token of a sequence from its logits, emits the visible text, and decides whether it ends. */
  private advance(seq: Sequence, logits: Float32Array): void {
    const { request, tokenizer } = { request: seq.request.request, tokenizer: seq.request.model.tokenizer };
    const raw = request.logprobs ? logSoftmax(logits) : null;
    const params = { temperature: request.temperature, topP: request.topP };
    const token = seq.constraint
      ? sampleConstrained(
          seq.constraint,
          logits,
          tokenizer,
          params,
          seq.rng,
          seq.request.maxTokens - seq.generated.length,
        )
      : sampleToken(logits, params, seq.rng);
    seq.generated.push(token);
    seq.text.push(token);
    seq.request.completionTokens += 1;
    const stopped = seq.stop.shouldStop(seq.generated) || (seq.constraint?.complete ?? false);
    const length = !stopped && seq.generated.length >= seq.request.maxTokens;
    const info: TokenLogprobInfo[] = [];
    if (raw) {
      const text = tokenizer.decode([token]);
      info.push({
        token: text,
        logprob: raw[token],
        bytes: [...Buffer.from(text, 'utf8')],
        top: topN(raw, request.topLogprobs).map((t) => {
          const alt = tokenizer.decode([t.id]);
          return { token: alt, logprob: t.logprob, bytes: [...Buffer.from(alt, 'utf8')] };
        }),
      });
    }
    this.emit(seq, stopped || length, info);
    if (stopped) this.finish(seq, 'stop', true);
    else if (length) this.finish(seq, 'length', true);
  }

  /** Visible text so far: special tokens skipped, cut at a stop string, holding back what may become one. */
  private emit(seq: Sequence, final: boolean, logprobs: TokenLogprobInfo[]): void {
    if (final) seq.text.flush();
    let text = seq.text.text;
    for (const s of seq.request.request.stop) {
      const at = text.indexOf(s);
      if (at >= 0) text = text.slice(0, at);
    }
    if (!final) {
      let hold = 0; // (an incomplete UTF-8 character is already held back by the decoder)
      for (const s of seq.request.request.stop) {
        for (let k = Math.min(s.length - 1, text.length); k > hold; k--) {
          if (text.endsWith(s.slice(0, k))) {
            hold = k;
            break;
          }
        }
      }
      text = text.slice(0, text.length - hold);
    }
    const delta = text.startsWith(seq.emitted) ? text.slice(seq.emitted.length) : '';
    if (delta || logprobs.length) {
      seq.emitted += delta;
      this.post({ type: 'delta', id: seq.request.request.id, choice: seq.choice, text: delta, logprobs });
    }
  }

  private finish(seq: Sequence, reason: 'stop' | 'length', notify: boolean): void {
    if (seq.finished) return;
    seq.finished = true;
    const state = seq.request;
    if (notify && !state.cancelled)
      this.post({ type: 'finish', id: state.request.id, choice: seq.choice, reason });
    state.open -= 1;
    if (state.open === 0) {
      this.requests.delete(state.request.id);
      this.models.release(state.model);
      if (!state.cancelled) {
        this.post({
          type: 'done',
          id: state.request.id,
          usage: {
            prompt_tokens: state.promptTokens,
            completion_tokens: state.completionTokens,
            total_tokens: state.promptTokens + state.completionTokens,
          },
        });
      } else this.post({ type: 'cancelled', id: state.request.id }); // its rows have left the batch
    }
  }

  private failAll(error: Error): void {
    for (const state of this.requests.values()) {
      this.post({
        type: 'error',
        id: state.request.id,
        status: 500,
        message: `Generation failed: ${error.message}`,
        param: null,
        code: 'engine_error',
      });
      state.cancelled = true;
    }
    for (const batch of this.batches.values()) batch.kv.dispose();
    this.batches.clear();
    this.waiting.length = 0;
    for (const state of this.requests.values()) this.models.release(state.model);
    this.requests.clear();
  }
}
