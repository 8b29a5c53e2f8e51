import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import {
  artifactKey,
  ArtifactNotFoundError,
  ArtifactTooLargeError,
  InvalidArtifactKeyError,
  type ArtifactKey,
  type ArtifactStore,
} from '../src';

export interface StoreUnderTest {
  store: ArtifactStore;
  /** Called after each test. */
  cleanup(): Promise<void>;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** A stream of `total` bytes in 1 MiB chunks (a pattern, so a reordered or dropped part changes the hash). */
function bigStream(total: number): { stream: Readable; data: Buffer } {
  const data = Buffer.alloc(total);
  for (let i = 0; i + 4 <= total; i += 4) data.writeUInt32LE(i >>> 2, i);
  const chunks: Buffer[] = [];
  for (let i = 0; i < total; i += 1024 * 1024)
    chunks.push(data.subarray(i, Math.min(total, i + 1024 * 1024)));
  return { stream: Readable.from(chunks), data };
}

/**
 * The behaviour every ArtifactStore promises (artifact-store.ts), run against each implementation: the local
 * filesystem store and the S3 store against a real S3-compatible server.
 */
export function artifactStoreSuite(name: string, open: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the ArtifactStore contract`, () => {
    let subject: StoreUnderTest;
    let store: ArtifactStore;
    let scratch: string;

    beforeEach(async () => {
      subject = await open();
      store = subject.store;
      scratch = await mkdtemp(join(tmpdir(), 'tt-store-src-'));
    });
    afterEach(async () => {
      await subject.cleanup();
      await rm(scratch, { recursive: true, force: true });
    });

    it('should store a stream and report its size and sha256', async () => {
      const data = Buffer.from('{"a":1}\n{"a":2}\n');
      const stored = await store.put(
        artifactKey('files/f1'),
        Readable.from([data.subarray(0, 5), data.subarray(5)]),
      );
      expect(stored).toEqual({ key: 'files/f1', bytes: data.length, sha256: sha256(data) });
      expect(await store.read(artifactKey('files/f1'))).toEqual(data);
      expect(await store.list()).toEqual(['files/f1']);
      const info = await store.stat(artifactKey('files/f1'));
      expect(info?.bytes).toBe(data.length);
      expect(Math.abs((info?.modifiedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
      expect(await store.stat(artifactKey('files/none'))).toBeNull();
      expect(await store.exists(artifactKey('files/f1'))).toBe(true);
      expect(await store.exists(artifactKey('files/none'))).toBe(false);
    });

    it('should stream a large object in and out whole (multipart on S3)', async () => {
      const { stream, data } = bigStream(40 * 1024 * 1024 + 123);
      const stored = await store.put(artifactKey('models/big.bin'), stream);
      expect(stored.bytes).toBe(data.length);
      expect(stored.sha256).toBe(sha256(data));
      const hash = createHash('sha256');
      let bytes = 0;
      for await (const chunk of await store.get(artifactKey('models/big.bin'))) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      expect(bytes).toBe(data.length);
      expect(hash.digest('hex')).toBe(sha256(data));
    });

    it('should let an observer see every chunk exactly once, in order', async () => {
      const seen: Buffer[] = [];
      const parts = [Buffer.from('one\n'), Buffer.from('two\n'), Buffer.from('three\n')];
      await store.put(artifactKey('files/observed'), Readable.from(parts), {
        observe: (c) => seen.push(Buffer.from(c)),
      });
      expect(Buffer.concat(seen).toString()).toBe('one\ntwo\nthree\n');
      expect((await store.read(artifactKey('files/observed'))).toString()).toBe('one\ntwo\nthree\n');
    });

    it('should leave nothing behind when a stream is too large, small or multipart', async () => {
      const small = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
      await expect(store.put(artifactKey('files/big'), small, { maxBytes: 1000 })).rejects.toBeInstanceOf(
        ArtifactTooLargeError,
      );
      // Past the first 16 MiB part: on S3 a multipart upload has begun and must be aborted.
      const { stream } = bigStream(24 * 1024 * 1024);
      await expect(
        store.put(artifactKey('files/huge'), stream, { maxBytes: 20 * 1024 * 1024 }),
      ).rejects.toBeInstanceOf(ArtifactTooLargeError);
      expect(await store.exists(artifactKey('files/big'))).toBe(false);
      expect(await store.exists(artifactKey('files/huge'))).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it('should leave nothing behind when the source stream fails mid-way', async () => {
      const broken = new Readable({
        read() {
          this.push(Buffer.from('partial'));
          this.destroy(new Error('client went away'));
        },
      });
      await expect(store.put(artifactKey('files/cut'), broken)).rejects.toThrow('client went away');
      expect(await store.exists(artifactKey('files/cut'))).toBe(false);
      expect(await store.list()).toEqual([]);
    });

    it('should refuse keys that could leave the store', async () => {
      for (const bad of ['../etc/passwd', '/abs', 'a/../../b', '.hidden', 'a//b']) {
        await expect(store.put(bad as ArtifactKey, 'x')).rejects.toBeInstanceOf(InvalidArtifactKeyError);
        await expect(store.read(bad as ArtifactKey)).rejects.toBeInstanceOf(InvalidArtifactKeyError);
        await expect(store.delete(bad as ArtifactKey)).rejects.toBeInstanceOf(InvalidArtifactKeyError);
      }
      expect(await store.list()).toEqual([]);
    });

    it('should report a missing artifact and delete idempotently', async () => {
      await expect(store.read(artifactKey('nope'))).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await expect(store.get(artifactKey('files/nope'))).rejects.toBeInstanceOf(ArtifactNotFoundError);
      await store.put(artifactKey('x/y'), 'data');
      await store.put(artifactKey('x/z/w'), 'data');
      await store.put(artifactKey('xy'), 'kept');
      await store.delete(artifactKey('x'));
      await store.delete(artifactKey('x'));
      expect(await store.list()).toEqual(['xy']);
    });

    it('should publish a directory whole and replace the previous one', async () => {
      const key = artifactKey('checkpoints/job/step-1');
      await store.putDirectory(key, async (dir) => {
        await writeFile(join(dir, 'a.txt'), 'one');
        await mkdir(join(dir, 'sub'));
        await writeFile(join(dir, 'sub', 'c.txt'), 'three');
      });
      expect(await store.list(artifactKey('checkpoints'))).toEqual([
        'checkpoints/job/step-1/a.txt',
        'checkpoints/job/step-1/sub/c.txt',
      ]);
      expect(await store.list(artifactKey('checkpoints/job/step-1/sub'))).toEqual([
        'checkpoints/job/step-1/sub/c.txt',
      ]);
      expect((await store.read(artifactKey('checkpoints/job/step-1/sub/c.txt'))).toString()).toBe('three');
      expect((await store.stat(artifactKey('checkpoints/job/step-1/a.txt')))?.bytes).toBe(3);
      expect(await store.exists(key)).toBe(true);
      await store.putDirectory(key, async (dir) => {
        await writeFile(join(dir, 'b.txt'), 'two');
      });
      expect(await store.list(artifactKey('checkpoints'))).toEqual(['checkpoints/job/step-1/b.txt']);
      await expect(store.read(artifactKey('checkpoints/job/step-1/a.txt'))).rejects.toBeInstanceOf(
        ArtifactNotFoundError,
      );
      const local = await store.localDirectory(key);
      expect(await readFile(join(local, 'b.txt'), 'utf8')).toBe('two');
      expect(existsSync(join(local, 'a.txt'))).toBe(false);
    });

    it('should keep the previous directory when building the new one fails', async () => {
      const key = artifactKey('checkpoints/job/step-2');
      await store.putDirectory(key, async (dir) => writeFile(join(dir, 'ok.txt'), 'ok'));
      await expect(
        store.putDirectory(key, async (dir) => {
          await writeFile(join(dir, 'half.txt'), 'half');
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      expect(await store.list(key)).toEqual(['checkpoints/job/step-2/ok.txt']);
      expect(await readFile(join(await store.localDirectory(key), 'ok.txt'), 'utf8')).toBe('ok');
    });

    it('should publish a finished local folder and consume it', async () => {
      const dir = join(scratch, 'step-3');
      await mkdir(dir);
      await writeFile(join(dir, 'model.safetensors'), Buffer.alloc(1000, 1));
      await writeFile(join(dir, 'config.json'), '{}');
      const key = artifactKey('jobs/j1/checkpoints/step-3');
      await store.publishDirectory(key, dir);
      expect(existsSync(dir)).toBe(false);
      expect(await store.list(artifactKey('jobs/j1'))).toEqual([
        'jobs/j1/checkpoints/step-3/config.json',
        'jobs/j1/checkpoints/step-3/model.safetensors',
      ]);
      const local = await store.localDirectory(key);
      expect(await readFile(join(local, 'model.safetensors'))).toEqual(Buffer.alloc(1000, 1));
      expect(await store.localDirectory(key)).toBe(local);
      await store.releaseLocalDirectory(key);
      expect(await store.list(artifactKey('jobs/j1'))).toHaveLength(2);
      expect(await readFile(join(await store.localDirectory(key), 'config.json'), 'utf8')).toBe('{}');
    });

    it('should not find a directory that was never published, or is deleted', async () => {
      await expect(store.localDirectory(artifactKey('models/none'))).rejects.toBeInstanceOf(
        ArtifactNotFoundError,
      );
      const key = artifactKey('models/imported/m');
      await store.putDirectory(key, async (dir) => writeFile(join(dir, 'config.json'), '{}'));
      await store.delete(artifactKey('models'));
      expect(await store.exists(key)).toBe(false);
      expect(await store.list()).toEqual([]);
      await expect(store.localDirectory(key)).rejects.toBeInstanceOf(ArtifactNotFoundError);
    });

    it('should answer its health check', async () => {
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}
