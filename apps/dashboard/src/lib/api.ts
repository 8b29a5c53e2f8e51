import type {
  ApiKeyObject,
  CreatedApiKey,
  FileObject,
  FineTuningCheckpointObject,
  FineTuningEventObject,
  FineTuningJobObject,
  ListResponse,
  ModelObject,
} from '@tracetune/contracts';

import { readSse, type SseMessage } from './sse';

/** One step's metrics as /v1/fine_tuning/jobs/{id}/metrics lists them (a Tracetune extension). */
export interface MetricRow {
  step: number;
  metrics: Record<string, number>;
  created_at: number;
}

/** POST /v1/fine_tuning/alpha/graders/run, as OpenAI answers it. */
export interface GraderRunResult {
  reward: number;
  sub_rewards: Record<string, unknown>;
  metadata: {
    name: string;
    type: string;
    errors: Record<string, boolean | string | null>;
    execution_time: number;
    scores: Record<string, unknown>;
    token_usage: number | null;
    sampled_model_name: string | null;
  };
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatOptions {
  model: string;
  messages: ChatMessage[];
  temperature: number;
  top_p: number;
  max_tokens: number;
  seed?: number;
}

/** An error the API answered in OpenAI's envelope, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

interface ErrorEnvelope {
  error?: { message?: string; code?: string | null; param?: string | null };
}

/**
 * The dashboard's only way to the server: the same public API the SDK uses, with the key in the Authorization
 * header. A 401 (unknown, revoked or expired key) calls `onUnauthorized`, which returns the user to sign-in.
 */
export class TracetuneClient {
  constructor(
    private readonly key: string,
    private readonly onUnauthorized: (message: string) => void = () => undefined,
  ) {}

  async request<T>(
    path: string,
    init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
  ): Promise<T> {
    const response = await this.send(path, init);
    return (await response.json()) as T;
  }

  /** The raw response after error handling, for streamed bodies. */
  async send(
    path: string,
    init: { method?: string; body?: unknown; signal?: AbortSignal; accept?: string } = {},
  ): Promise<Response> {
    let response: Response;
    try {
      response = await fetch(path, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          authorization: `Bearer ${this.key}`,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(init.accept ? { accept: init.accept } : {}),
        },
        body: init.body === undefined ? undefined : JSON.stringify(init.body),
        signal: init.signal,
        cache: 'no-store',
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      throw new ApiError(0, `Could not reach the server: ${(error as Error).message}`);
    }
    if (response.ok) return response;
    const envelope = (await response.json().catch(() => ({}))) as ErrorEnvelope;
    const message = envelope.error?.message ?? `${response.status} ${response.statusText}`;
    if (response.status === 401) this.onUnauthorized(message);
    throw new ApiError(response.status, message, envelope.error?.code ?? null, envelope.error?.param ?? null);
  }

  // Fine-tuning jobs
  listJobs(after?: string): Promise<ListResponse<FineTuningJobObject>> {
    return this.request(
      `/v1/fine_tuning/jobs?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`,
    );
  }
  getJob(id: string): Promise<FineTuningJobObject> {
    return this.request(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}`);
  }
  jobAction(id: string, action: 'cancel' | 'pause' | 'resume'): Promise<FineTuningJobObject> {
    return this.request(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
  }
  listEvents(id: string, after?: string): Promise<ListResponse<FineTuningEventObject>> {
    return this.request(
      `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/events?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`,
    );
  }
  listCheckpoints(id: string): Promise<ListResponse<FineTuningCheckpointObject>> {
    return this.request(`/v1/fine_tuning/jobs/${encodeURIComponent(id)}/checkpoints?limit=100`);
  }
  async listMetrics(id: string, afterStep = -1): Promise<MetricRow[]> {
    const list = await this.request<{ data: MetricRow[] }>(
      `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/metrics?after_step=${afterStep}`,
    );
    return list.data;
  }
  /** The live job stream (server-sent events over fetch, so the key stays in the header). */
  async streamJob(id: string, afterStep: number, signal: AbortSignal): Promise<AsyncGenerator<SseMessage>> {
    const response = await this.send(
      `/v1/fine_tuning/jobs/${encodeURIComponent(id)}/stream?after_step=${afterStep}`,
      {
        signal,
        accept: 'text/event-stream',
      },
    );
    if (!response.body) throw new ApiError(0, 'The stream has no body');
    return readSse(response.body, signal);
  }

  // Files
  listFiles(): Promise<ListResponse<FileObject>> {
    return this.request('/v1/files');
  }
  /** The first `lines` lines of a file, reading no more of the body than needed. */
  async fileHead(
    id: string,
    lines: number,
    signal?: AbortSignal,
  ): Promise<{ lines: string[]; truncated: boolean }> {
    const response = await this.send(`/v1/files/${encodeURIComponent(id)}/content`, { signal });
    if (!response.body) return { lines: [], truncated: false };
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let truncated = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
      if (text.split('\n').length > lines) {
        truncated = true;
        await reader.cancel();
        break;
      }
    }
    const all = text.split('\n').filter((line, index, array) => line !== '' || index < array.length - 1);
    return { lines: all.slice(0, lines), truncated: truncated || all.length > lines };
  }

  // Graders
  runGrader(grader: unknown, modelSample: string, item: unknown): Promise<GraderRunResult> {
    return this.request('/v1/fine_tuning/alpha/graders/run', {
      body: { grader, model_sample: modelSample, item },
    });
  }

  // Models
  async listModels(): Promise<ModelObject[]> {
    return (await this.request<{ data: ModelObject[] }>('/v1/models')).data;
  }

  /** Streams a chat completion; yields content deltas as they arrive. */
  async *chat(options: ChatOptions, signal: AbortSignal): AsyncGenerator<string> {
    const response = await this.send('/v1/chat/completions', {
      body: { ...options, stream: true },
      signal,
      accept: 'text/event-stream',
    });
    if (!response.body) return;
    for await (const message of readSse(response.body, signal)) {
      if (message.data === '[DONE]') return;
      const chunk = JSON.parse(message.data) as {
        choices?: { delta?: { content?: string | null } }[];
        error?: { message?: string };
      };
      if (chunk.error) throw new ApiError(500, chunk.error.message ?? 'The model failed mid-stream');
      const delta = chunk.choices?.[0]?.delta?.content;
      if (delta) yield delta;
    }
  }

  // API keys (admin keys only)
  listApiKeys(organizationId?: string): Promise<ListResponse<ApiKeyObject>> {
    return this.request(
      `/admin/api-keys${organizationId ? `?organization_id=${encodeURIComponent(organizationId)}` : ''}`,
    );
  }
  createApiKey(body: {
    name: string;
    role: 'admin' | 'member';
    organization_id?: string;
  }): Promise<CreatedApiKey> {
    return this.request('/admin/api-keys', { body });
  }
  revokeApiKey(id: string, organizationId?: string): Promise<ApiKeyObject> {
    const query = organizationId ? `?organization_id=${encodeURIComponent(organizationId)}` : '';
    return this.request(`/admin/api-keys/${encodeURIComponent(id)}${query}`, { method: 'DELETE' });
  }
}
