import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';

import { Config } from '@tracetune/config';
import { UNSUPPORTED_CHAT_PARAMETERS } from '@tracetune/contracts';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { ModelsService } from '../models/models.service';
import { RateLimitsService } from '../rate-limits/rate-limits.service';

/**
 * The api's side of inference: checks the request and the caller's access to the model, then proxies to an inference
 * instance, passing streams through as they arrive. A client that disconnects aborts the upstream request, which frees
 * its batch slot there.
 */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly config: Config,
    private readonly models: ModelsService,
    private readonly limits: RateLimitsService,
  ) {}

  /** Refuses OpenAI parameters Tracetune does not serve, by name (before schema validation, for a clear message). */
  static refuseUnsupported(body: unknown): void {
    if (!body || typeof body !== 'object') return;
    for (const name of UNSUPPORTED_CHAT_PARAMETERS) {
      if ((body as Record<string, unknown>)[name] !== undefined) {
        throw ApiError.badRequest(
          `Unsupported parameter: '${name}' is not supported by Tracetune models.`,
          name,
          'unsupported_parameter',
        );
      }
    }
  }

  async proxy(
    kind: 'chat/completions' | 'completions',
    caller: Principal,
    body: Record<string, unknown>,
    request: Request,
    response: Response,
  ): Promise<void> {
    const model = await this.models.get(caller, body['model'] as string);
    const internal = {
      model: {
        id: model.id,
        builtin: model.source === 'builtin' ? model.id : null,
        artifactKey: model.artifactKey,
      },
      body,
    };
    // The slot is held until the response is over (streamed or not), whether it finished or the client left.
    const releaseStream = await this.limits.openStream(caller);
    const abort = new AbortController();
    response.on('close', () => {
      releaseStream();
      if (!response.writableFinished) abort.abort();
    });
    if (response.destroyed) {
      releaseStream(); // the client left while the slot was being taken: 'close' has already fired
      return;
    }
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(`${this.config.get('INFERENCE_URL')}/internal/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': String(request.id ?? '') },
        body: JSON.stringify(internal),
        signal: abort.signal,
      });
    } catch (error) {
      releaseStream();
      if (abort.signal.aborted) return;
      throw new ApiError(
        503,
        `The inference server is unavailable (${(error as Error).message}). Retry later.`,
        { code: 'inference_unavailable' },
      );
    }
    response.status(upstream.status);
    response.setHeader('content-type', upstream.headers.get('content-type') ?? 'application/json');
    if (upstream.headers.get('content-type')?.startsWith('text/event-stream')) {
      response.setHeader('cache-control', 'no-cache');
      response.flushHeaders();
    }
    if (!upstream.body) {
      response.end();
      return;
    }
    Readable.fromWeb(upstream.body as WebReadableStream<Uint8Array>)
      .on('error', () => response.end())
      .pipe(response);
  }
}
