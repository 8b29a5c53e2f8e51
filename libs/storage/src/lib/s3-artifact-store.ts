import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { artifactKey, type ArtifactKey } from './artifact-key';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  type PutOptions,
  type StoredArtifact,
} from './artifact-store';
import { meteredStream, toReadable } from './metered-stream';

/**
 * Object names Tracetune keeps beside the artifacts. Their segments start with "." — something an artifact key can
 * never do (artifact-key.ts) — so they cannot collide with artifacts, and listings skip them.
 */
const MANIFEST = '.tracetune-directory.json';
const VERSIONS = '.tracetune-versions';
/** Inside a cached copy of a directory: which published version it holds. */
const CACHED_VERSION = '.tracetune-version';
/** Multipart part size: 16 MiB parts allow objects up to ≈ 160 GB (S3 allows 10,000 parts). */
const PART_BYTES = 16 * 1024 * 1024;
/** Files of one directory uploaded or downloaded at once. */
const PARALLEL_FILES = 4;

export interface S3Settings {
  /** Custom endpoint (MinIO, R2, a local test server); unset for AWS. */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's default chain (shared config files, instance or pod roles). */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which MinIO and most self-hosted servers need. */
  forcePathStyle: boolean;
}

export interface S3ArtifactStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or segments without leading/trailing slashes). */
  prefix: string;
  client: S3Client;
  /** Local folder for staging uploads and the cache of downloaded directories (TRACETUNE_DATA_DIR). */
  cacheDir: string;
}

/** The published form of a directory artifact, written after all of its files. */
interface DirectoryManifest {
  format: 'tracetune-directory';
  /** Folder under VERSIONS holding this version's files. */
  version: string;
  publishedAt: string;
  files: { path: string; bytes: number; sha256: string }[];
}

export function createS3Client(settings: S3Settings): S3Client {
  return new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials:
      settings.accessKeyId && settings.secretAccessKey
        ? {
            accessKeyId: settings.accessKeyId,
            secretAccessKey: settings.secretAccessKey,
            sessionToken: settings.sessionToken,
          }
        : undefined,
    // Checksums only where S3 requires them: several S3-compatible servers reject the newer default trailers.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 5,
  });
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Runs `work` over `items`, at most `limit` at a time; the first failure rejects (after the others settle). */
async function eachLimit<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  });
  const settled = await Promise.allSettled(lanes);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}

/** Relative paths of the files under `dir` (hidden entries skipped, as local listings skip them), validated as keys. */
async function filesUnder(dir: string, base = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, base), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = base ? `${base}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(dir, rel)));
    else if (entry.isFile()) out.push(artifactKey(rel));
  }
  return out.sort();
}

/**
 * Artifact store on S3 or any S3-compatible server (MinIO, R2, Ceph), shared by every host.
 *
 * Files: one object per key under the prefix, written by PutObject or a multipart upload, both of which make the
 * object visible only once complete; a failed upload is aborted, so nothing is left visible.
 *
 * Directories (checkpoints, models): S3 cannot publish several objects at once, so a directory is published by a
 * manifest. Its files are uploaded under `<key>/.tracetune-versions/<version>/`, then `<key>/.tracetune-directory.json`
 * — the list of files with sizes and sha256 — is written last, in one PutObject. A directory exists exactly when its
 * manifest does, and readers see only the files the manifest names: a crashed upload leaves an unreferenced version
 * (removed by the next publish or delete), and replacing a directory swaps the whole manifest at once. Older versions
 * are deleted after the swap; a reader still downloading one starts again from the new manifest.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly client: S3Client;
  private readonly cacheDir: string;
  /** Downloads in flight, so concurrent readers of one directory share one download. */
  private readonly downloads = new Map<string, Promise<string>>();

  constructor(options: S3ArtifactStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix.replace(/^\/+|\/+$/g, '');
    this.client = options.client;
    this.cacheDir = resolve(options.cacheDir);
    this.location = `s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  async put(
    key: ArtifactKey,
    source: Readable | Buffer | string,
    options: PutOptions = {},
  ): Promise<StoredArtifact> {
    const meter = meteredStream(options);
    await this.upload(this.objectKey(artifactKey(key)), toReadable(source), meter.stream);
    return { key, bytes: meter.bytes(), sha256: meter.sha256() };
  }

  async get(key: ArtifactKey): Promise<Readable> {
    const found = await this.locate(artifactKey(key));
    if (!found) throw new ArtifactNotFoundError(key);
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: found.objectKey }),
      );
      return response.Body as Readable;
    } catch (error) {
      if (isNotFound(error)) throw new ArtifactNotFoundError(key);
      throw error;
    }
  }

  async read(key: ArtifactKey): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of await this.get(key)) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async exists(key: ArtifactKey): Promise<boolean> {
    const valid = artifactKey(key);
    return (await this.locate(valid)) !== null || (await this.readManifest(valid)) !== null;
  }

  async stat(key: ArtifactKey): Promise<{ bytes: number; modifiedAt: Date } | null> {
    const found = await this.locate(artifactKey(key));
    return found ? { bytes: found.bytes, modifiedAt: found.modifiedAt } : null;
  }

  async list(prefix?: ArtifactKey): Promise<ArtifactKey[]> {
    const base = prefix ? artifactKey(prefix) : null;
    const out = new Set<string>();
    for await (const object of this.objects(base ? `${this.objectKey(base)}/` : this.root())) {
      const key = object.key;
      const parts = key.split('/');
      const last = parts[parts.length - 1];
      const hidden = parts.findIndex((p) => p.startsWith('.'));
      if (hidden === -1) out.add(key);
      else if (last === MANIFEST && hidden === parts.length - 1) {
        const dir = parts.slice(0, -1).join('/');
        for (const file of (await this.readManifest(dir))?.files ?? []) out.add(`${dir}/${file.path}`);
      }
    }
    // A prefix inside a published directory: its files are named by a manifest above the prefix.
    if (base) {
      const enclosing = await this.enclosingDirectory(base);
      if (enclosing) {
        const inside = base.slice(enclosing.dir.length + 1);
        for (const file of enclosing.manifest.files)
          if (file.path.startsWith(`${inside}/`)) out.add(`${enclosing.dir}/${file.path}`);
      }
    }
    return [...out].sort().map((k) => artifactKey(k));
  }

  async delete(key: ArtifactKey): Promise<void> {
    const valid = artifactKey(key);
    // The directory (if any) disappears at once with its manifest; then its versions and everything else under it.
    await this.deleteObjects([this.objectKey(`${valid}/${MANIFEST}`)]);
    const names = [this.objectKey(valid)];
    for await (const object of this.objects(`${this.objectKey(valid)}/`))
      names.push(this.objectKey(object.key));
    await this.deleteObjects(names);
  }

  async putDirectory(key: ArtifactKey, build: (stagingDir: string) => Promise<void>): Promise<void> {
    const staging = await this.stagingPath();
    await mkdir(staging, { recursive: true });
    try {
      await build(staging);
      await this.uploadDirectory(artifactKey(key), staging);
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  async publishDirectory(key: ArtifactKey, dir: string): Promise<void> {
    await this.uploadDirectory(artifactKey(key), dir);
    await rm(dir, { recursive: true, force: true });
  }

  localDirectory(key: ArtifactKey): Promise<string> {
    const valid = artifactKey(key);
    let pending = this.downloads.get(valid);
    if (!pending) {
      pending = this.download(valid).finally(() => this.downloads.delete(valid));
      this.downloads.set(valid, pending);
    }
    return pending;
  }

  async releaseLocalDirectory(key: ArtifactKey): Promise<void> {
    const valid = artifactKey(key);
    await this.downloads.get(valid)?.catch(() => undefined);
    await rm(join(this.cacheDir, ...valid.split('/')), { recursive: true, force: true });
  }

  async check(): Promise<void> {
    await this.client.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.root(), MaxKeys: 1 }),
    );
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  // ------------------------------------------------------------------------------------------------ object names

  private root(): string {
    return this.prefix ? `${this.prefix}/` : '';
  }

  private objectKey(key: string): string {
    return `${this.root()}${key}`;
  }

  private versionKey(dir: string, version: string, path: string): string {
    return this.objectKey(`${dir}/${VERSIONS}/${version}/${path}`);
  }

  // ------------------------------------------------------------------------------------------------ S3 calls

  /**
   * Streams `source` through `meter` into one object. The object becomes visible only when the upload completes; on
   * any failure the multipart upload is aborted and the source's own error (a size limit, a client that went away)
   * is the one thrown.
   */
  private async upload(objectKey: string, source: Readable, meter: Transform): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: objectKey, Body: meter },
      partSize: PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const feeding = pipeline(source, meter);
    const uploading = upload.done().catch((error: unknown) => {
      meter.destroy(error as Error); // stops the feeding side too
      throw error;
    });
    const [fed, uploaded] = await Promise.allSettled([feeding, uploading]);
    if (fed.status === 'rejected') throw fed.reason;
    if (uploaded.status === 'rejected') throw uploaded.reason;
  }

  private async head(objectKey: string): Promise<{ bytes: number; modifiedAt: Date } | null> {
    try {
      const info = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey }));
      return { bytes: info.ContentLength ?? 0, modifiedAt: info.LastModified ?? new Date(0) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** Objects under a raw prefix, with keys relative to the store's prefix. */
  private async *objects(prefix: string): AsyncGenerator<{ key: string; bytes: number }> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? [])
        if (object.Key) yield { key: object.Key.slice(this.root().length), bytes: object.Size ?? 0 };
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  private async deleteObjects(names: string[]): Promise<void> {
    for (let i = 0; i < names.length; i += 1000) {
      const batch = names.slice(i, i + 1000);
      const result = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (result.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0)
        throw new Error(
          `S3 refused to delete ${failed[0].Key}: ${failed[0].Code} ${failed[0].Message ?? ''}`,
        );
    }
  }

  // ------------------------------------------------------------------------------------------------ directories

  private async readManifest(dir: string): Promise<DirectoryManifest | null> {
    try {
      const response = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(`${dir}/${MANIFEST}`) }),
      );
      const manifest = JSON.parse(
        await (response.Body as { transformToString(): Promise<string> }).transformToString(),
      ) as DirectoryManifest;
      if (manifest.format !== 'tracetune-directory' || !Array.isArray(manifest.files))
        throw new Error(`${this.location}/${dir}/${MANIFEST} is not a Tracetune directory manifest`);
      return manifest;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The published directory that contains `key` (strictly above it), if any. */
  private async enclosingDirectory(
    key: string,
  ): Promise<{ dir: string; manifest: DirectoryManifest } | null> {
    const parts = key.split('/');
    for (let depth = parts.length - 1; depth >= 1; depth--) {
      const dir = parts.slice(0, depth).join('/');
      const manifest = await this.readManifest(dir);
      if (manifest) return { dir, manifest };
    }
    return null;
  }

  /** Where a file's bytes are: its own object, or the current version of the published directory holding it. */
  private async locate(key: string): Promise<{ objectKey: string; bytes: number; modifiedAt: Date } | null> {
    const own = await this.head(this.objectKey(key));
    if (own) return { objectKey: this.objectKey(key), ...own };
    const enclosing = await this.enclosingDirectory(key);
    if (!enclosing) return null;
    const path = key.slice(enclosing.dir.length + 1);
    const file = enclosing.manifest.files.find((f) => f.path === path);
    if (!file) return null;
    return {
      objectKey: this.versionKey(enclosing.dir, enclosing.manifest.version, path),
      bytes: file.bytes,
      modifiedAt: new Date(enclosing.manifest.publishedAt),
    };
  }

  /** Uploads a new version of directory `key`, publishes it with its manifest, then removes what it replaced. */
  private async uploadDirectory(key: ArtifactKey, dir: string): Promise<void> {
    const version = `${Date.now().toString(36)}-${randomUUID()}`;
    const paths = await filesUnder(dir);
    let files: DirectoryManifest['files'];
    try {
      files = await eachLimit(paths, PARALLEL_FILES, async (path) => {
        const meter = meteredStream();
        await this.upload(
          this.versionKey(key, version, path),
          createReadStream(join(dir, ...path.split('/'))),
          meter.stream,
        );
        return { path, bytes: meter.bytes(), sha256: meter.sha256() };
      });
      const manifest: DirectoryManifest = {
        format: 'tracetune-directory',
        version,
        publishedAt: new Date().toISOString(),
        files,
      };
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(`${key}/${MANIFEST}`),
          Body: JSON.stringify(manifest),
          ContentType: 'application/json',
        }),
      );
    } catch (error) {
      await this.deleteUnder(`${key}/${VERSIONS}/${version}/`).catch(() => undefined);
      throw error;
    }
    // Everything under the key but the manifest and the version it names now (a concurrent publisher may have won).
    const current = (await this.readManifest(key))?.version ?? version;
    const keep = `${key}/${VERSIONS}/${current}/`;
    const stale: string[] = [];
    for await (const object of this.objects(`${this.objectKey(key)}/`))
      if (object.key !== `${key}/${MANIFEST}` && !object.key.startsWith(keep))
        stale.push(this.objectKey(object.key));
    await this.deleteObjects(stale);
  }

  private async deleteUnder(relativePrefix: string): Promise<void> {
    const names: string[] = [];
    for await (const object of this.objects(this.objectKey(relativePrefix)))
      names.push(this.objectKey(object.key));
    await this.deleteObjects(names);
  }

  /**
   * Downloads the published version of directory `key` into the cache (`<cacheDir>/<key>`) unless it is there
   * already: into a staging folder first, each file checked against the manifest's size and sha256, then swapped in
   * with renames. A version replaced while downloading (its objects deleted) is retried once from the new manifest.
   */
  private async download(key: ArtifactKey, attempt = 0): Promise<string> {
    const manifest = await this.readManifest(key);
    if (!manifest) throw new ArtifactNotFoundError(key);
    const target = join(this.cacheDir, ...key.split('/'));
    const cached = await readFile(join(target, CACHED_VERSION), 'utf8').catch(() => null);
    if (cached === manifest.version) return target;
    const staging = await this.stagingPath();
    try {
      await eachLimit(manifest.files, PARALLEL_FILES, async (file) => {
        const path = join(staging, ...file.path.split('/'));
        await mkdir(dirname(path), { recursive: true });
        const response = await this.client.send(
          new GetObjectCommand({
            Bucket: this.bucket,
            Key: this.versionKey(key, manifest.version, file.path),
          }),
        );
        const hash = createHash('sha256');
        let bytes = 0;
        const check = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            bytes += chunk.length;
            hash.update(chunk);
            callback(null, chunk);
          },
        });
        await pipeline(response.Body as Readable, check, createWriteStream(path));
        const sha256 = hash.digest('hex');
        if (bytes !== file.bytes || sha256 !== file.sha256)
          throw new Error(
            `${this.location}/${key}/${file.path} does not match its manifest (${bytes} bytes, sha256 ${sha256}; expected ${file.bytes}, ${file.sha256})`,
          );
      });
      await writeFile(join(staging, CACHED_VERSION), manifest.version);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      if (attempt === 0 && isNotFound(error)) return this.download(key, 1);
      throw error;
    }
    await mkdir(dirname(target), { recursive: true });
    const old = `${staging}.old`;
    const hadOld = await rename(target, old).then(
      () => true,
      () => false,
    );
    await rename(staging, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return target;
  }

  private async stagingPath(): Promise<string> {
    const dir = join(this.cacheDir, '.staging');
    await mkdir(dir, { recursive: true });
    return join(dir, randomUUID());
  }
}
