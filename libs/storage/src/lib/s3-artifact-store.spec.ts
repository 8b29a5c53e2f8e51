import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { startS3Server, type TestS3Server } from '@tracetune/testing';

import { artifactStoreSuite } from '../../test/artifact-store.suite';
import { artifactKey } from './artifact-key';
import { createArtifactStore, parseS3Url } from './create-artifact-store';
import { createS3Client, S3ArtifactStore } from './s3-artifact-store';

let server: TestS3Server;
let prefixes = 0;

beforeAll(async () => {
  server = await startS3Server();
});
afterAll(() => server.close());

function client(): S3Client {
  return createS3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    forcePathStyle: true,
  });
}

/** A store on a fresh prefix of the test bucket, with its own local cache folder. */
async function openStore(): Promise<{ store: S3ArtifactStore; cacheDir: string; prefix: string }> {
  const prefix = `run-${process.pid}-${++prefixes}/artifacts`;
  const cacheDir = await mkdtemp(join(tmpdir(), 'tt-s3-cache-'));
  return {
    store: new S3ArtifactStore({ bucket: server.bucket, prefix, client: client(), cacheDir }),
    cacheDir,
    prefix,
  };
}

async function rawKeys(s3: S3Client, prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: `${prefix}/` }));
  return (page.Contents ?? []).map((o) => o.Key!.slice(prefix.length + 1)).sort();
}

artifactStoreSuite('S3ArtifactStore', async () => {
  const { store, cacheDir } = await openStore();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
});

describe('S3ArtifactStore', () => {
  let store: S3ArtifactStore;
  let cacheDir: string;
  let prefix: string;
  let s3: S3Client;

  beforeEach(async () => {
    ({ store, cacheDir, prefix } = await openStore());
    s3 = client();
  });
  afterEach(async () => {
    await store.close();
    s3.destroy();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it('should parse storage URLs and build the store from settings', () => {
    expect(parseS3Url('s3://bucket/a/b/')).toEqual({ bucket: 'bucket', prefix: 'a/b' });
    expect(parseS3Url('s3://bucket')).toEqual({ bucket: 'bucket', prefix: '' });
    expect(parseS3Url('/data')).toBeNull();
    const built = createArtifactStore({
      storage: 's3://bucket/tracetune',
      dataDir: cacheDir,
      s3: { region: 'us-east-1', forcePathStyle: true },
    });
    expect(built.location).toBe('s3://bucket/tracetune');
    void built.close();
  });

  it('should keep objects under its prefix, a directory as versioned files plus a manifest written last', async () => {
    await store.put(artifactKey('files/org/f1'), 'data');
    await store.putDirectory(artifactKey('models/m'), async (dir) =>
      writeFile(join(dir, 'config.json'), '{}'),
    );
    const keys = await rawKeys(s3, prefix);
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe('files/org/f1');
    expect(keys[1]).toBe('models/m/.tracetune-directory.json');
    expect(keys[2]).toMatch(/^models\/m\/\.tracetune-versions\/[a-z0-9-]+\/config\.json$/);
  });

  it('should ignore a directory whose upload never finished, and clean it up on the next publish', async () => {
    // What a crash mid-upload leaves: files of a version, no manifest.
    await s3.send(
      new PutObjectCommand({
        Bucket: server.bucket,
        Key: `${prefix}/jobs/j/checkpoints/step-1/.tracetune-versions/crashed/model.safetensors`,
        Body: 'half',
      }),
    );
    const key = artifactKey('jobs/j/checkpoints/step-1');
    expect(await store.list()).toEqual([]);
    expect(await store.exists(key)).toBe(false);
    await expect(store.localDirectory(key)).rejects.toThrow('not found');
    await store.putDirectory(key, async (dir) => writeFile(join(dir, 'model.safetensors'), 'whole'));
    expect(await store.list()).toEqual(['jobs/j/checkpoints/step-1/model.safetensors']);
    expect((await rawKeys(s3, prefix)).filter((k) => k.includes('crashed'))).toEqual([]);
  });

  it('should download a directory once per published version and verify it against the manifest', async () => {
    const key = artifactKey('models/cached');
    await store.putDirectory(key, async (dir) => writeFile(join(dir, 'weights.bin'), 'v1'));
    const local = await store.localDirectory(key);
    expect(local).toBe(join(cacheDir, 'models', 'cached'));
    const first = (await stat(join(local, 'weights.bin'))).mtimeMs;
    await new Promise((r) => setTimeout(r, 20));
    expect(await store.localDirectory(key)).toBe(local);
    expect((await stat(join(local, 'weights.bin'))).mtimeMs).toBe(first);
    // Another host publishes a new version: the next reader here downloads it.
    const other = new S3ArtifactStore({
      bucket: server.bucket,
      prefix,
      client: client(),
      cacheDir: join(cacheDir, 'other'),
    });
    await other.putDirectory(key, async (dir) => writeFile(join(dir, 'weights.bin'), 'v2'));
    await other.close();
    expect(await readFile(join(await store.localDirectory(key), 'weights.bin'), 'utf8')).toBe('v2');
    // An object changed behind the manifest's back is refused, not served.
    const versionKey = (await rawKeys(s3, prefix)).find((k) => k.endsWith('weights.bin'))!;
    await s3.send(
      new PutObjectCommand({ Bucket: server.bucket, Key: `${prefix}/${versionKey}`, Body: 'v3' }),
    );
    await rm(local, { recursive: true, force: true });
    await expect(store.localDirectory(key)).rejects.toThrow('does not match its manifest');
  });

  it('should share one download between concurrent readers', async () => {
    const key = artifactKey('models/shared');
    await store.putDirectory(key, async (dir) => writeFile(join(dir, 'w.bin'), Buffer.alloc(4096, 3)));
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => store.localDirectory(key)));
    expect(new Set([a, b, c]).size).toBe(1);
    expect(await readFile(join(a, 'w.bin'))).toEqual(Buffer.alloc(4096, 3));
  });
});
