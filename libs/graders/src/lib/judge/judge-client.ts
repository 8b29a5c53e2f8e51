import OpenAI, { APIConnectionError, APIConnectionTimeoutError } from 'openai';
import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';

import { Semaphore } from './semaphore';

export interface JudgeClientOptions {
  /** Any OpenAI-compatible base URL, e.g. `https://api.openai.com/v1` or Tracetune's own `/v1`. */
  baseURL: string;
  apiKey: string;
  /** Per-request timeout (each retry gets its own). Default 60 000 ms. */
  timeoutMs?: number;
  /** Retries of connection errors, timeouts, 408/409/429/5xx, with the SDK's exponential backoff. Default 2. */
  maxRetries?: number;
  /** Judge requests in flight at once, across every grader sharing this client. Default 8. */
  maxConcurrency?: number;
  /**
   * How the structured answer is requested: `json_schema` (OpenAI structured outputs, the default), `json_object`
   * (servers that only know JSON mode, like Tracetune's own inference) or `none` (the prompt must ask for JSON).
   */
  responseFormat?: 'json_schema' | 'json_object' | 'none';
}

/** The OpenAI SDK behind a concurrency limit: the one door through which model graders reach a judge. */
export class JudgeClient {
  readonly responseFormat: 'json_schema' | 'json_object' | 'none';
  readonly timeoutMs: number;
  private readonly client: OpenAI;
  private readonly limiter: Semaphore;

  constructor(options: JudgeClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.client = new OpenAI({
      baseURL: options.baseURL,
      apiKey: options.apiKey,
      timeout: this.timeoutMs,
      maxRetries: options.maxRetries ?? 2,
    });
    this.limiter = new Semaphore(options.maxConcurrency ?? 8);
    this.responseFormat = options.responseFormat ?? 'json_schema';
  }

  /** One chat completion; throws the SDK's errors (`APIError`, `APIConnectionError`, …) after its retries. */
  complete(params: ChatCompletionCreateParamsNonStreaming): Promise<ChatCompletion> {
    return this.limiter.run(async () => {
      const t0 = performance.now();
      try {
        return await this.client.chat.completions.create(params);
      } catch (e) {
        // Where fetch's AbortError comes from another realm (jest's vm context), the SDK reports its own timeout as a
        // plain connection error: a connection error that ends after the timeout is the timeout.
        const late = performance.now() - t0 >= this.timeoutMs;
        if (e instanceof APIConnectionError && !(e instanceof APIConnectionTimeoutError) && late) {
          throw new APIConnectionTimeoutError();
        }
        throw e;
      }
    });
  }
}
