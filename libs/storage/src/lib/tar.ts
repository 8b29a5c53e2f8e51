import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * A small ustar reader and writer for model folders (upload and download of Hugging Face folders). The reader
 * streams: it never holds more than one 512-byte block plus the chunk being written, refuses links, devices and any
 * path that would leave the target folder, and counts every byte it writes against a limit.
 */
export class TarFormatError extends Error {}

/** Thrown when the archive (or what it expands to) exceeds the byte limit. */
export class TarTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`the archive expands to more than ${limit} bytes`);
  }
}

const BLOCK = 512;

/** A file to write into a tar: its path inside the archive, exact size, and its bytes (produced lazily). */
export interface TarEntry {
  path: string;
  size: number;
  body: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
}

function writeString(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function writeOctal(buf: Buffer, offset: number, length: number, value: number): void {
  writeString(buf, offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
}

function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  const cut = path.lastIndexOf('/', 155);
  if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100)
    throw new TarFormatError(`path too long for ustar: ${path}`);
  return { name: path.slice(cut + 1), prefix: path.slice(0, cut) };
}

/** The 512-byte ustar header of a regular file. */
export function tarHeader(path: string, size: number, mtime = 0): Buffer {
  const header = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(path);
  writeString(header, 0, 100, name);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, mtime);
  header.fill(0x20, 148, 156); // checksum field counts as spaces
  header[156] = 0x30; // '0': regular file
  writeString(header, 257, 6, 'ustar\0');
  writeString(header, 263, 2, '00');
  writeString(header, 345, 155, prefix);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeString(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** Total size of the archive `tarStream(entries)` yields. */
export function tarSize(entries: readonly TarEntry[]): number {
  return entries.reduce((n, e) => n + BLOCK + Math.ceil(e.size / BLOCK) * BLOCK, 2 * BLOCK);
}

/** The archive's bytes, entry by entry; fails if a body's length differs from its declared size. */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Uint8Array> {
  for (const entry of entries) {
    yield tarHeader(entry.path, entry.size);
    let written = 0;
    for await (const chunk of entry.body()) {
      written += chunk.byteLength;
      yield chunk;
    }
    if (written !== entry.size)
      throw new TarFormatError(`${entry.path}: wrote ${written} bytes, declared ${entry.size}`);
    const pad = (BLOCK - (entry.size % BLOCK)) % BLOCK;
    if (pad) yield Buffer.alloc(pad);
  }
  yield Buffer.alloc(2 * BLOCK);
}

/** Reads exact byte counts from an async stream of chunks. */
class ChunkReader {
  private pending: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Uint8Array>;
  private done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.it.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.pending = this.pending.length
      ? Buffer.concat([this.pending, Buffer.from(next.value)])
      : Buffer.from(next.value);
    return true;
  }

  /** Exactly n bytes, or null at a clean end of stream; throws on a partial block. */
  async read(n: number): Promise<Buffer | null> {
    while (this.pending.length < n) {
      if (!(await this.fill())) {
        if (this.pending.length === 0) return null;
        throw new TarFormatError('the archive is truncated');
      }
    }
    const out = this.pending.subarray(0, n);
    this.pending = this.pending.subarray(n);
    return out;
  }

  /** n bytes as a sequence of chunks (never gathered into one buffer). */
  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.pending.length === 0 && !(await this.fill()))
        throw new TarFormatError('the archive is truncated');
      const take = this.pending.subarray(0, Math.min(left, this.pending.length));
      this.pending = this.pending.subarray(take.length);
      left -= take.length;
      yield take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const chunk of this.stream(n)) void chunk;
  }
}

function readString(buf: Buffer, offset: number, length: number): string {
  const slice = buf.subarray(offset, offset + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end < 0 ? length : end).toString('utf8');
}

function readNumber(buf: Buffer, offset: number, length: number): number {
  if (buf[offset] & 0x80) {
    let value = 0; // GNU base-256 for large sizes
    for (let i = offset + 1; i < offset + length; i++) value = value * 256 + buf[i];
    return value;
  }
  const text = readString(buf, offset, length).trim();
  const value = text ? parseInt(text, 8) : 0;
  if (!Number.isFinite(value)) throw new TarFormatError(`bad number field "${text}" in a tar header`);
  return value;
}

function checkHeader(header: Buffer): void {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i];
  let stored = NaN;
  try {
    stored = readNumber(header, 148, 8);
  } catch {
    // reported below
  }
  if (sum !== stored) throw new TarFormatError('not a tar archive (bad header checksum)');
}

/** A safe relative path inside the archive: no absolute paths, no `..`, no empty or odd segments. */
export function safeArchivePath(raw: string): string {
  const path = raw.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  const segments = path.split('/');
  if (
    path.startsWith('/') ||
    raw.includes('\\') ||
    segments.some((s) => s === '..' || s === '' || s === '.' || s.includes('\0'))
  ) {
    throw new TarFormatError(`unsafe path in the archive: ${JSON.stringify(raw)}`);
  }
  return path;
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const length = parseInt(data.subarray(at, space).toString('utf8'), 10);
    if (space < 0 || !(length > 0)) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    out[record.slice(0, eq)] = record.slice(eq + 1);
    at += length;
  }
  return out;
}

const KIND_NAMES: Record<string, string> = {
  '1': 'hard link',
  '2': 'symbolic link',
  '3': 'character device',
  '4': 'block device',
  '6': 'fifo',
};

async function writeFileFrom(chunks: AsyncIterable<Buffer>, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = createWriteStream(path, { flags: 'wx' });
  await new Promise<void>((resolve, reject) => {
    pipeline(chunks, out, (error) => {
      if ((error as NodeJS.ErrnoException | null)?.code === 'EEXIST')
        reject(new TarFormatError(`the archive holds ${path} twice`));
      else if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * Extracts a tar stream into `dir` (which must exist): regular files and folders only. Links, devices, unsafe paths
 * and a missing end-of-archive marker are TarFormatError; more than `maxBytes` of file content TarTooLargeError.
 * Returns the relative paths of the files written. The caller removes `dir` on failure.
 */
export async function extractTar(
  source: AsyncIterable<Uint8Array>,
  dir: string,
  maxBytes: number,
): Promise<string[]> {
  const reader = new ChunkReader(source);
  const files: string[] = [];
  let total = 0;
  let nextPath: string | null = null;
  for (;;) {
    const header = await reader.read(BLOCK);
    if (!header) throw new TarFormatError('the archive is truncated (no end-of-archive blocks)');
    if (header.every((b) => b === 0)) return files;
    checkHeader(header);
    const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]);
    const size = readNumber(header, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const prefix = readString(header, 345, 155);
    const name = nextPath ?? (prefix ? `${prefix}/` : '') + readString(header, 0, 100);
    nextPath = null;
    if (type === 'x' || type === 'L') {
      if (size > 1 << 20) throw new TarFormatError('tar extended header too large');
      const data = (await reader.read(padded)) ?? Buffer.alloc(0);
      nextPath =
        type === 'L' ? readString(data, 0, size) : (paxRecords(data.subarray(0, size))['path'] ?? null);
      continue;
    }
    if (type === 'g') {
      await reader.skip(padded);
      continue;
    }
    if (KIND_NAMES[type])
      throw new TarFormatError(`the archive holds a ${KIND_NAMES[type]} (${name}); only files are accepted`);
    if (type === '5' && /^(\.\/?)*$/.test(name)) {
      await reader.skip(padded);
      continue;
    }
    const path = safeArchivePath(name);
    if (type === '5') {
      await mkdir(join(dir, path), { recursive: true });
      await reader.skip(padded);
      continue;
    }
    if (type !== '0' && type !== '7')
      throw new TarFormatError(`unsupported tar entry type "${type}" (${name})`);
    total += size;
    if (total > maxBytes) throw new TarTooLargeError(maxBytes);
    await writeFileFrom(reader.stream(size), join(dir, path));
    await reader.skip(padded - size);
    files.push(path);
  }
}

/** The stream as is, or gunzipped when it starts with the gzip magic bytes (a .tar.gz). */
export async function* gunzipIfCompressed(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const all = (async function* () {
    yield first.value;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  })();
  if (first.value[0] !== 0x1f || first.value[1] !== 0x8b) {
    yield* all;
    return;
  }
  const gunzip = createGunzip();
  pipeline(all, gunzip, () => undefined);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

/** Tar entries for every regular file under `dir` (sorted; links and other special files are skipped). */
export async function folderTarEntries(dir: string): Promise<TarEntry[]> {
  const found = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = found
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
  return Promise.all(
    files.map(async (path) => ({
      path,
      size: (await stat(join(dir, path))).size,
      body: () => createReadStream(join(dir, path)),
    })),
  );
}
