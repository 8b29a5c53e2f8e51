import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';

import type { ApiKeyObject, CreatedApiKey, ListResponse } from '@tracetune/contracts';
import { queryDatabase, WORKSPACE_ROOT } from '@tracetune/testing';

import { buildOpenApiDocument } from '../src/app/openapi/openapi';
import { startTestApi, type TestApi } from './api-test-app';

describe('api foundation (real PostgreSQL and Redis, official openai SDK)', () => {
  let api: TestApi;
  let admin: OpenAI;

  beforeAll(async () => {
    api = await startTestApi();
    admin = api.root(api.adminKey);
  });
  afterAll(() => api.close());

  async function createKey(body: Record<string, unknown>): Promise<CreatedApiKey> {
    return admin.post<CreatedApiKey>('/admin/api-keys', { body });
  }

  describe('health, docs and metrics', () => {
    it('should report database and redis ok on /health without a key', async () => {
      const response = await fetch(`${api.url}/health`);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { status: string; checks: Record<string, { status: string }> };
      expect(body.status).toBe('ok');
      expect(body.checks.database.status).toBe('ok');
      expect(body.checks.redis.status).toBe('ok');
      expect(response.headers.get('x-request-id')).toMatch(/^req_/);
      expect(body.checks.database).toEqual({ status: 'ok', latency_ms: expect.any(Number) });
    });

    it('should answer /health the same to a member key and a bad key, and with details only to an admin', async () => {
      const member = await createKey({ name: 'health', role: 'member' });
      for (const key of [member.key, 'tt-not-a-key']) {
        const response = await fetch(`${api.url}/health`, { headers: { authorization: `Bearer ${key}` } });
        expect(response.status).toBe(200);
        expect(Object.keys(((await response.json()) as { checks: object }).checks)).toEqual([
          'database',
          'redis',
        ]);
      }
      const admin = await fetch(`${api.url}/health`, {
        headers: { authorization: `Bearer ${api.adminKey}` },
      });
      expect(((await admin.json()) as { status: string }).status).toBe('ok');
    });

    it('should serve the OpenAPI UI and spec at /docs', async () => {
      const ui = await fetch(`${api.url}/docs`);
      expect(ui.status).toBe(200);
      expect(await ui.text()).toContain('swagger');
      const spec = (await (await fetch(`${api.url}/docs/openapi.json`)).json()) as {
        openapi: string;
        paths: Record<string, Record<string, unknown>>;
        components: {
          schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }>;
        };
      };
      expect(spec.openapi).toMatch(/^3\./);
      expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/admin/api-keys', '/health']));
      expect(JSON.stringify(spec.paths['/admin/api-keys'].post)).toContain(
        '#/components/schemas/CreateApiKeyDto',
      );
      const schema = spec.components.schemas['CreateApiKeyDto'];
      expect(Object.keys(schema.properties ?? {})).toEqual(
        expect.arrayContaining(['name', 'role', 'organization_id']),
      );
      expect(schema.required).toContain('name');
    });

    it('should match the committed docs/openapi.json (run `npm run openapi` after changing the API)', () => {
      const committed = JSON.parse(
        readFileSync(join(WORKSPACE_ROOT, 'docs', 'openapi.json'), 'utf8'),
      ) as unknown;
      expect(JSON.parse(JSON.stringify(buildOpenApiDocument(api.app)))).toEqual(committed);
    });

    it('should send security headers on every answer (helmet) and no x-powered-by', async () => {
      for (const path of ['/health', '/v1/models', '/no-such-route']) {
        const res = await fetch(`${api.url}${path}`);
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
        expect(res.headers.get('referrer-policy')).toBe('no-referrer');
        expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
        expect(res.headers.get('x-powered-by')).toBeNull();
      }
    });

    it('should expose Prometheus metrics including request durations', async () => {
      await fetch(`${api.url}/health`);
      const text = await (await fetch(`${api.url}/metrics`)).text();
      expect(text).toContain('tracetune_http_request_duration_seconds_bucket');
      expect(text).toContain('route="/health"');
    });

    it('should echo a sane caller request id and replace an unsafe one', async () => {
      const mine = await fetch(`${api.url}/health`, { headers: { 'x-request-id': 'trace-123' } });
      expect(mine.headers.get('x-request-id')).toBe('trace-123');
      const unsafe = await fetch(`${api.url}/health`, { headers: { 'x-request-id': 'bad id with spaces' } });
      expect(unsafe.headers.get('x-request-id')).toMatch(/^req_/);
    });
  });

  describe('authentication', () => {
    it('should answer a missing key with AuthenticationError in the OpenAI envelope', async () => {
      const response = await fetch(`${api.url}/admin/api-keys`);
      expect(response.status).toBe(401);
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(await response.json()).toEqual({
        error: {
          message: expect.stringContaining('Bearer'),
          type: 'authentication_error',
          param: null,
          code: 'missing_api_key',
        },
      });
    });

    it('should answer a wrong key with AuthenticationError and never echo the whole key', async () => {
      const wrong = 'tt-thisisnotarealkeyatallreally1234';
      const error = await api
        .root(wrong)
        .get('/admin/api-keys')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
      expect((error as Error).message).not.toContain(wrong);
    });

    it("should revoke another organization's key by id alone, and not through the wrong organization", async () => {
      const other = await createKey({ name: 'elsewhere', role: 'member', organization_id: 'org-revoke' });
      await expect(
        admin.delete(`/admin/api-keys/${other.id}`, { query: { organization_id: 'org-default' } }),
      ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const revoked = await admin.delete<{ revoked_at: number | null }>(`/admin/api-keys/${other.id}`);
      expect(revoked.revoked_at).toEqual(expect.any(Number));
      await expect(api.openai(other.key).models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    });

    it('should refuse a revoked key', async () => {
      const created = await createKey({ name: 'to revoke', role: 'member' });
      await expect(api.root(created.key).get('/health')).resolves.toBeDefined();
      await admin.delete(`/admin/api-keys/${created.id}`);
      const error = await api
        .root(created.key)
        .get('/admin/api-keys')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('revoked_api_key');
    });

    it('should refuse a member key on admin routes with PermissionDeniedError', async () => {
      const member = await createKey({ name: 'member', role: 'member' });
      const error = await api
        .root(member.key)
        .get('/admin/api-keys')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    });
  });

  describe('API keys', () => {
    it('should show the secret once, store only its hash, and list keys without secrets', async () => {
      const created = await createKey({ name: 'ci', role: 'admin' });
      expect(created.key).toMatch(/^tt-[A-Za-z0-9]{48}$/);
      expect(created.prefix).toBe(created.key.slice(0, 10));
      const rows = await queryDatabase<{ hash: string }>(
        api.db.url,
        'SELECT hash FROM api_keys WHERE id = $1',
        [created.id],
      );
      expect(rows[0].hash).toMatch(/^[0-9a-f]{64}$/);
      expect(rows[0].hash).not.toContain(created.key);
      const list = await admin.get<ListResponse<ApiKeyObject>>('/admin/api-keys');
      const listed = list.data.find((k) => k.id === created.id);
      expect(listed).toMatchObject({ name: 'ci', role: 'admin', revoked_at: null });
      expect(JSON.stringify(list)).not.toContain(created.key);
    });

    it('should name the bad field in a BadRequestError', async () => {
      const error = await createKey({ name: 'x', role: 'owner' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('role');
      const unknown = await createKey({ name: 'x', colour: 'red' }).catch((e: unknown) => e);
      expect((unknown as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('colour');
      const missing = await createKey({}).catch((e: unknown) => e);
      expect((missing as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('name');
    });

    it("should keep organizations apart: another org's key is not listed, nor revoked through the wrong org", async () => {
      const other = await createKey({ name: 'tenant b', role: 'admin', organization_id: 'org-tenant-b' });
      const mine = await admin.get<ListResponse<ApiKeyObject>>('/admin/api-keys');
      expect(mine.data.map((k) => k.id)).not.toContain(other.id);
      const error = await admin
        .delete(`/admin/api-keys/${other.id}`, { query: { organization_id: 'org-default' } })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const theirs = await api.root(other.key).get<ListResponse<ApiKeyObject>>('/admin/api-keys');
      expect(theirs.data.map((k) => k.id)).toEqual([other.id]);
      expect(theirs.data.every((k) => k.organization_id === 'org-tenant-b')).toBe(true);
    });
  });

  describe('errors', () => {
    it('should answer an unknown route with NotFoundError in the envelope', async () => {
      const error = await api
        .openai(api.adminKey)
        .get('/no/such/route')
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const response = await fetch(`${api.url}/v1/no/such/route`, {
        headers: { authorization: `Bearer ${api.adminKey}` },
      });
      expect(await response.json()).toEqual({
        error: {
          message: 'Invalid URL (GET /v1/no/such/route)',
          type: 'not_found_error',
          param: null,
          code: 'unknown_url',
        },
      });
      expect(response.headers.get('x-request-id')).toBeTruthy();
    });

    it('should answer a malformed JSON body with a 400 envelope', async () => {
      const response = await fetch(`${api.url}/admin/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${api.adminKey}`, 'content-type': 'application/json' },
        body: '{"name": "oops",',
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as { error: Record<string, unknown> };
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json', param: null });
      expect(response.headers.get('x-request-id')).toBeTruthy();
    });
  });
});
