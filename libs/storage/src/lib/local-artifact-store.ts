import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, cp, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { artifactKey, type ArtifactKey } from './artifact-key';
import {
  ArtifactNotFoundError,
  type ArtifactStore,
  type PutOptions,
  type StoredArtifact,
} from './artifact-store';
import { meteredStream, toReadable } from './metered-stream';

/** Staging area inside the root (same filesystem, so publishing is an atomic rename). Keys cannot start with ".". */
const STAGING = '.staging';

/** Artifact store on a local (or shared network) filesystem, rooted at TRACETUNE_DATA_DIR. */
export class LocalArtifactStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get location(): string {
    return this.root;
  }

  localPath(key: ArtifactKey): string {
    // Keys are validated segment by segment (artifact-key.ts), so the join cannot escape the root.
    return join(this.root, ...artifactKey(key).split('/'));
  }

  async put(
    key: ArtifactKey,
    source: Readable | Buffer | string,
    options: PutOptions = {},
  ): Promise<StoredArtifact> {
    const target = this.localPath(key);
    const staging = await this.stagingPath();
    const meter = meteredStream(options);
    const out = createWriteStream(staging, { flags: 'wx' });
    try {
      await pipeline(toReadable(source), meter.stream, out);
      await mkdir(dirname(target), { recursive: true });
      await rename(staging, target);
    } catch (error) {
      // A source that fails at once (a limit crossed in the first chunk) fails the pipeline while the file is still
      // being opened: wait until the stream has closed it, or the removal would run first and leave the file behind.
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
      await rm(staging, { force: true });
      throw error;
    }
    return { key, bytes: meter.bytes(), sha256: meter.sha256() };
  }

  async get(key: ArtifactKey): Promise<Readable> {
    const path = this.localPath(key);
    await this.assertFile(key, path);
    return createReadStream(path);
  }

  async read(key: ArtifactKey): Promise<Buffer> {
    const path = this.localPath(key);
    await this.assertFile(key, path);
    return readFile(path);
  }

  async exists(key: ArtifactKey): Promise<boolean> {
    return stat(this.localPath(key)).then(
      () => true,
      () => false,
    );
  }

  async stat(key: ArtifactKey): Promise<{ bytes: number; modifiedAt: Date } | null> {
    const info = await stat(this.localPath(key)).catch(() => null);
    return info?.isFile() ? { bytes: info.size, modifiedAt: info.mtime } : null;
  }

  async list(prefix?: ArtifactKey): Promise<ArtifactKey[]> {
    const base = prefix ? this.localPath(prefix) : this.root;
    const out: ArtifactKey[] = [];
    const walk = async (dir: string): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile()) out.push(artifactKey(relative(this.root, full).split(sep).join('/')));
      }
    };
    await walk(base);
    return out.sort();
  }

  async delete(key: ArtifactKey): Promise<void> {
    await rm(this.localPath(key), { recursive: true, force: true });
  }

  async putDirectory(key: ArtifactKey, build: (stagingDir: string) => Promise<void>): Promise<void> {
    const staging = await this.stagingPath();
    await mkdir(staging);
    try {
      await build(staging);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    await this.swapIn(key, staging);
  }

  async publishDirectory(key: ArtifactKey, dir: string): Promise<void> {
    const staging = await this.stagingPath();
    try {
      // A rename when the folder is on the store's filesystem (the worker's scratch folder is), else a copy.
      await rename(dir, staging).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EXDEV') throw error;
        await cp(dir, staging, { recursive: true });
        await rm(dir, { recursive: true, force: true });
      });
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    await this.swapIn(key, staging);
  }

  async localDirectory(key: ArtifactKey): Promise<string> {
    const path = this.localPath(key);
    const info = await stat(path).catch(() => null);
    if (!info?.isDirectory()) throw new ArtifactNotFoundError(key);
    return path;
  }

  async releaseLocalDirectory(): Promise<void> {
    // The folder handed out is the artifact itself.
  }

  async check(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    await access(this.root, constants.R_OK);
  }

  async close(): Promise<void> {
    // Nothing is held open between calls.
  }

  /** Publishes a complete staging folder under `key` in one rename, replacing what was there. */
  private async swapIn(key: ArtifactKey, staging: string): Promise<void> {
    const target = this.localPath(key);
    try {
      await mkdir(dirname(target), { recursive: true });
      // Replace: move the old directory aside first so the new one appears in a single rename.
      const old = `${staging}.old`;
      const hadOld = await rename(target, old).then(
        () => true,
        () => false,
      );
      await rename(staging, target);
      if (hadOld) await rm(old, { recursive: true, force: true });
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  }

  private async stagingPath(): Promise<string> {
    const dir = join(this.root, STAGING);
    await mkdir(dir, { recursive: true });
    return join(dir, randomUUID());
  }

  private async assertFile(key: string, path: string): Promise<void> {
    const info = await stat(path).catch(() => null);
    if (!info?.isFile()) throw new ArtifactNotFoundError(key);
  }
}
