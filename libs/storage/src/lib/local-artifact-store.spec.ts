import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';

import { artifactKey, InvalidArtifactKeyError } from './artifact-key';
import { ArtifactNotFoundError, ArtifactTooLargeError } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';

describe('artifactKey', () => {
  it.each(['..', '../etc/passwd', 'a/../b', '/abs', 'a//b', '.hidden', 'a\\b', 'a/b c', ''])(
    'should refuse %j',
    (bad) => {
      expect(() => artifactKey(bad)).toThrow(InvalidArtifactKeyError);
    },
  );

  it('should join safe segments with slashes', () => {
    expect(artifactKey('files', 'org-1/file-2.jsonl')).toBe('files/org-1/file-2.jsonl');
  });
});

describe('LocalArtifactStore', () => {
  let root: string;
  let store: LocalArtifactStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tt-store-'));
    store = new LocalArtifactStore(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('should store a stream and report its size and sha256', async () => {
    const data = Buffer.from('{"a":1}\n{"a":2}\n');
    const stored = await store.put(
      artifactKey('files/f1'),
      Readable.from([data.subarray(0, 5), data.subarray(5)]),
    );
    expect(stored.bytes).toBe(data.length);
    expect(stored.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(await store.read(artifactKey('files/f1'))).toEqual(data);
    expect(await store.list()).toEqual(['files/f1']);
    const info = await store.stat(artifactKey('files/f1'));
    expect(info?.bytes).toBe(data.length);
    expect(Math.abs((info?.modifiedAt.getTime() ?? 0) - Date.now())).toBeLessThan(60_000);
    expect(await store.stat(artifactKey('files/none'))).toBeNull();
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

  it('should leave nothing behind when a stream is too large', async () => {
    const big = Readable.from([Buffer.alloc(600), Buffer.alloc(600)]);
    await expect(store.put(artifactKey('files/big'), big, { maxBytes: 1000 })).rejects.toBeInstanceOf(
      ArtifactTooLargeError,
    );
    expect(await store.exists(artifactKey('files/big'))).toBe(false);
    expect(await readdir(join(root, '.staging'))).toEqual([]);
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
    expect(await readdir(join(root, '.staging'))).toEqual([]);
  });

  it('should publish a directory atomically and replace the previous one', async () => {
    const key = artifactKey('checkpoints/job/step-1');
    await store.putDirectory(key, async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'one');
    });
    await store.putDirectory(key, async (dir) => {
      await writeFile(join(dir, 'b.txt'), 'two');
    });
    expect(await store.list(artifactKey('checkpoints'))).toEqual(['checkpoints/job/step-1/b.txt']);
    expect(await readFile(join(store.localPath(key), 'b.txt'), 'utf8')).toBe('two');
  });

  it('should keep the previous directory when building the new one fails', async () => {
    const key = artifactKey('checkpoints/job/step-2');
    await store.putDirectory(key, async (dir) => writeFile(join(dir, 'ok.txt'), 'ok'));
    await expect(
      store.putDirectory(key, async () => {
        throw new Error('disk full');
      }),
    ).rejects.toThrow('disk full');
    expect(await store.list(key)).toEqual(['checkpoints/job/step-2/ok.txt']);
  });

  it('should report a missing artifact and delete idempotently', async () => {
    await expect(store.read(artifactKey('nope'))).rejects.toBeInstanceOf(ArtifactNotFoundError);
    await store.put(artifactKey('x/y'), 'data');
    await store.delete(artifactKey('x'));
    await store.delete(artifactKey('x'));
    expect(await store.list()).toEqual([]);
  });
});
