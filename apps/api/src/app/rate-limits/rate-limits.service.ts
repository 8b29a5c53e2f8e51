import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import Redis from 'ioredis';

import { Config } from '@tracetune/config';

import type { Principal } from '../auth/principal';
import type { ApiError } from '../common/api-error';
import { rateLimitError, type LimitedResource } from './rate-limit-error';

/** The fixed window of the request limits: a counter starts at a caller's first request and lives this long. */
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** A stream's slot lives this long unless its api renews it, so slots of a crashed api free themselves. */
const STREAM_LEASE_MS = 60_000;
const STREAM_RENEW_MS = 20_000;
/** How long job creations of one organization wait for each other (count, then insert) before giving up. */
const JOB_LOCK_MS = 10_000;

/** Both counters of a fixed window, bumped together; a refused request is taken back out of both. */
const COUNT_REQUEST = `
local k = redis.call('INCR', KEYS[1])
if k == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local o = redis.call('INCR', KEYS[2])
if o == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
local blocked = 0
if tonumber(ARGV[1]) > 0 and k > tonumber(ARGV[1]) then blocked = 1
elseif tonumber(ARGV[2]) > 0 and o > tonumber(ARGV[2]) then blocked = 2 end
if blocked > 0 then redis.call('DECR', KEYS[1]); redis.call('DECR', KEYS[2]) end
return {blocked, k, o, redis.call('PTTL', KEYS[1]), redis.call('PTTL', KEYS[2])}`;

/** Leases of open streams in two sorted sets (score = last renewal); expired leases are dropped first. */
const OPEN_STREAM = `
local oldest = tonumber(ARGV[1]) - tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', oldest)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', oldest)
local k = redis.call('ZCARD', KEYS[1])
local o = redis.call('ZCARD', KEYS[2])
if tonumber(ARGV[4]) > 0 and k >= tonumber(ARGV[4]) then return {1, k, o} end
if tonumber(ARGV[5]) > 0 and o >= tonumber(ARGV[5]) then return {2, k, o} end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return {0, k + 1, o + 1}`;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

const ADD_UPLOAD = `
local used = redis.call('INCRBY', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return used`;

/** Upload bytes an organization has left and when its hourly window resets. */
export interface UploadAllowance {
  bytes: number;
  resetMs: number;
}

/** What the request limit left a caller, for the x-ratelimit-* headers. */
export interface RequestAllowance {
  limit: number;
  remaining: number;
  resetMs: number;
}

/**
 * Rate limits and quotas per API key and per organization, counted in Redis so every api instance sees the same
 * numbers: requests per minute (key and organization), concurrent streams (key and organization), active
 * fine-tuning jobs (organization; counted in PostgreSQL, creations serialised by a Redis lock) and upload bytes per
 * hour (organization). A limit of 0 is no limit. When Redis cannot be reached the limits let requests through
 * (logged): Redis being down must not take the whole API down with it.
 */
@Injectable()
export class RateLimitsService implements OnModuleDestroy {
  private readonly logger = new Logger(RateLimitsService.name);
  private readonly redis: Redis;
  private readonly prefix: string;
  private lastWarning = 0;

  constructor(private readonly config: Config) {
    this.redis = new Redis(config.get('REDIS_URL'), {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
      lazyConnect: false,
    });
    this.redis.on('error', (error: Error) => this.warn(error));
    this.prefix = `${config.get('TRACETUNE_QUEUE_PREFIX')}:limits`;
  }

  async onModuleDestroy(): Promise<void> {
    this.redis.disconnect();
  }

  /** Counts one request of `caller`; throws a 429 past the key's or the organization's requests per minute. */
  async countRequest(caller: Principal): Promise<RequestAllowance | null> {
    const keyLimit = this.config.get('TRACETUNE_RATE_LIMIT_RPM_PER_KEY');
    const orgLimit = this.config.get('TRACETUNE_RATE_LIMIT_RPM_PER_ORG');
    if (keyLimit === 0 && orgLimit === 0) return null;
    const result = await this.run<[number, number, number, number, number]>(
      COUNT_REQUEST,
      [this.key('rpm', 'key', caller.apiKeyId), this.key('rpm', 'org', caller.organizationId)],
      [keyLimit, orgLimit, MINUTE_MS],
    );
    if (!result) return null;
    const [blocked, keyUsed, orgUsed, keyTtl, orgTtl] = result;
    if (blocked === 1) throw this.refused('requests', 'requests per minute', 'key', caller, keyLimit, keyTtl);
    if (blocked === 2) throw this.refused('requests', 'requests per minute', 'org', caller, orgLimit, orgTtl);
    return tighter(
      { limit: keyLimit, remaining: keyLimit - keyUsed, resetMs: keyTtl },
      { limit: orgLimit, remaining: orgLimit - orgUsed, resetMs: orgTtl },
    );
  }

  /** Takes a stream slot for `caller` (429 when none is free); the returned function gives it back. */
  async openStream(caller: Principal): Promise<() => void> {
    const keyLimit = this.config.get('TRACETUNE_RATE_LIMIT_STREAMS_PER_KEY');
    const orgLimit = this.config.get('TRACETUNE_RATE_LIMIT_STREAMS_PER_ORG');
    if (keyLimit === 0 && orgLimit === 0) return () => undefined;
    const keys = [
      this.key('streams', 'key', caller.apiKeyId),
      this.key('streams', 'org', caller.organizationId),
    ];
    const member = randomUUID();
    const result = await this.run<[number]>(OPEN_STREAM, keys, [
      Date.now(),
      STREAM_LEASE_MS,
      member,
      keyLimit,
      orgLimit,
    ]);
    if (!result) return () => undefined;
    if (result[0] === 1) throw this.refused('streams', 'concurrent streams', 'key', caller, keyLimit, 1_000);
    if (result[0] === 2) throw this.refused('streams', 'concurrent streams', 'org', caller, orgLimit, 1_000);
    const renew = setInterval(() => {
      for (const key of keys)
        void this.redis.zadd(key, 'XX', Date.now(), member).catch((e: Error) => this.warn(e));
    }, STREAM_RENEW_MS);
    renew.unref();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      clearInterval(renew);
      for (const key of keys) void this.redis.zrem(key, member).catch((e: Error) => this.warn(e));
    };
  }

  /**
   * Runs `create` while no other creation of the organization runs (on any api instance), after checking that the
   * organization has fewer than the allowed active jobs (`countActive` reads PostgreSQL, the source of truth).
   */
  async withJobSlot<T>(
    caller: Principal,
    countActive: () => Promise<number>,
    create: () => Promise<T>,
  ): Promise<T> {
    const limit = this.config.get('TRACETUNE_RATE_LIMIT_ACTIVE_JOBS_PER_ORG');
    if (limit === 0) return create();
    const release = await this.lock(this.key('jobs-lock', 'org', caller.organizationId));
    try {
      if ((await countActive()) >= limit) {
        throw this.refused('jobs', 'active fine-tuning jobs', 'org', caller, limit, 60_000);
      }
      return await create();
    } finally {
      await release();
    }
  }

  /** What the organization may still upload this hour (`bytes` Infinity when unlimited); a 429 when nothing. */
  async uploadAllowance(caller: Principal): Promise<UploadAllowance> {
    const limit = this.config.get('TRACETUNE_RATE_LIMIT_UPLOAD_BYTES_PER_HOUR');
    const unlimited = { bytes: Number.POSITIVE_INFINITY, resetMs: HOUR_MS };
    if (limit === 0) return unlimited;
    const key = this.key('upload-bytes', 'org', caller.organizationId);
    const state = await this.guarded(() => this.redis.multi().get(key).pttl(key).exec());
    if (!state) return unlimited;
    const used = Number(state[0]?.[1] ?? 0);
    const ttl = Number(state[1]?.[1] ?? -1);
    const allowance = { bytes: limit - used, resetMs: ttl > 0 ? ttl : HOUR_MS };
    if (allowance.bytes <= 0) throw this.uploadRefused(caller, allowance);
    return allowance;
  }

  /** The 429 for an upload past what was left of the hour's upload bytes. */
  uploadRefused(caller: Principal, allowance: UploadAllowance): ApiError {
    const limit = this.config.get('TRACETUNE_RATE_LIMIT_UPLOAD_BYTES_PER_HOUR');
    return this.refused('upload_bytes', 'upload bytes per hour', 'org', caller, limit, allowance.resetMs);
  }

  /** Counts a stored upload against the organization's hourly upload bytes. */
  async recordUpload(caller: Principal, bytes: number): Promise<void> {
    if (this.config.get('TRACETUNE_RATE_LIMIT_UPLOAD_BYTES_PER_HOUR') === 0) return;
    await this.run(ADD_UPLOAD, [this.key('upload-bytes', 'org', caller.organizationId)], [bytes, HOUR_MS]);
  }

  private key(limit: string, scope: 'key' | 'org', id: string): string {
    return `${this.prefix}:${limit}:${scope}:${id}`;
  }

  private refused(
    type: LimitedResource,
    what: string,
    scope: 'key' | 'org',
    caller: Principal,
    limit: number,
    resetMs: number,
  ): ApiError {
    const who = scope === 'key' ? `API key ${caller.apiKeyId}` : `organization ${caller.organizationId}`;
    return rateLimitError(type, `Rate limit reached for ${what} on ${who}: limit ${limit}.`, resetMs);
  }

  /** A Redis lock (SET NX with expiry); resolves with its release. Waits up to JOB_LOCK_MS, then goes on without. */
  private async lock(key: string): Promise<() => Promise<void>> {
    const token = randomUUID();
    const deadline = Date.now() + JOB_LOCK_MS;
    while (Date.now() < deadline) {
      const taken = await this.guarded(() => this.redis.set(key, token, 'PX', JOB_LOCK_MS, 'NX'));
      if (taken === undefined) break; // Redis unreachable: fail open
      if (taken === 'OK') return async () => void (await this.run(RELEASE_LOCK, [key], [token]));
      await new Promise((r) => setTimeout(r, 25));
    }
    return async () => undefined;
  }

  private run<T>(script: string, keys: string[], args: (string | number)[]): Promise<T | undefined> {
    return this.guarded(() => this.redis.eval(script, keys.length, ...keys, ...args) as Promise<T>);
  }

  /** Runs a Redis call; on failure logs (at most every 10 s) and answers undefined, so limits fail open. */
  private async guarded<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      return await call();
    } catch (error) {
      this.warn(error as Error);
      return undefined;
    }
  }

  private warn(error: Error): void {
    if (Date.now() - this.lastWarning < 10_000) return;
    this.lastWarning = Date.now();
    this.logger.warn(`rate limits are not enforced while Redis is unreachable: ${error.message}`);
  }
}

/** The allowance closer to its limit (an unlimited one, limit 0, never is). */
function tighter(a: RequestAllowance, b: RequestAllowance): RequestAllowance | null {
  const limited = [a, b].filter((x) => x.limit > 0);
  if (limited.length === 0) return null;
  return limited.reduce((x, y) => (y.remaining < x.remaining ? y : x));
}
