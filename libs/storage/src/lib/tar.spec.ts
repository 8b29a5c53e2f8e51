import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import {
  extractTar,
  gunzipIfCompressed,
  TarFormatError,
  tarHeader,
  tarSize,
  tarStream,
  TarTooLargeError,
} from './tar';

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

/** Feeds a buffer in small, odd-sized chunks (the parser must not depend on chunk boundaries). */
function chunked(buf: Buffer, size = 333): AsyncIterable<Uint8Array> {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

describe('tar', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tt-tar-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('should round-trip files through tarStream and extractTar, and agree with GNU tar', async () => {
    const long = `${'d'.repeat(80)}/${'e'.repeat(60)}/weights.bin`;
    const entries = [
      { path: 'config.json', size: 2, body: () => [Buffer.from('{}')] },
      { path: long, size: 1000, body: () => [Buffer.alloc(600, 1), Buffer.alloc(400, 2)] },
    ];
    const archive = await collect(tarStream(entries));
    expect(archive.length).toBe(tarSize(entries));
    const out = join(dir, 'out');
    execFileSync('mkdir', [out]);
    expect(await extractTar(chunked(archive), out, 10_000)).toEqual(['config.json', long]);
    expect(readFileSync(join(out, long)).subarray(598, 602)).toEqual(Buffer.from([1, 1, 2, 2]));
    writeFileSync(join(dir, 'a.tar'), archive);
    expect(
      execFileSync('tar', ['-tf', join(dir, 'a.tar')], { encoding: 'utf8' })
        .trim()
        .split('\n'),
    ).toEqual(['config.json', long]);
  });

  it('should read a GNU tar.gz with a top folder and ./ entries', async () => {
    execFileSync('mkdir', ['-p', join(dir, 'src/top')]);
    writeFileSync(join(dir, 'src/top/config.json'), '{"a":1}');
    execFileSync('tar', ['-czf', join(dir, 'a.tgz'), '-C', join(dir, 'src'), '.']);
    const out = join(dir, 'out');
    execFileSync('mkdir', [out]);
    const files = await extractTar(gunzipIfCompressed(chunked(readFileSync(join(dir, 'a.tgz')))), out, 100);
    expect(files).toEqual(['top/config.json']);
  });

  it.each([
    ['a ../ path', () => Buffer.concat([tarHeader('../evil', 0), Buffer.alloc(1024)]), /unsafe path/],
    ['an absolute path', () => Buffer.concat([tarHeader('/etc/x', 0), Buffer.alloc(1024)]), /unsafe path/],
    ['a cut-off archive', () => tarHeader('a', 600).subarray(0, 400), /truncated/],
    ['no end marker', () => Buffer.concat([tarHeader('a', 1), Buffer.alloc(512)]), /truncated/],
    ['garbage', () => Buffer.alloc(512, 7), /not a tar/],
  ])('should refuse %s', async (_what, build, message) => {
    await expect(extractTar(chunked(build()), dir, 1000)).rejects.toThrow(message);
  });

  it('should refuse symbolic links and hard links made by GNU tar', async () => {
    writeFileSync(join(dir, 'f'), 'x');
    symlinkSync('/etc/passwd', join(dir, 'link'));
    execFileSync('tar', ['-cf', join(dir, 's.tar'), '-C', dir, 'link']);
    execFileSync('tar', ['-cf', join(dir, 'h.tar'), '-C', dir, 'f', 'f', '--hard-dereference']);
    const out = join(dir, 'out');
    execFileSync('mkdir', [out]);
    await expect(extractTar(chunked(readFileSync(join(dir, 's.tar'))), out, 100)).rejects.toThrow(
      /symbolic link/,
    );
    const hard = Buffer.concat([tarHeader('f', 0), Buffer.alloc(1024)]);
    hard[156] = 0x31;
    await expect(extractTar(chunked(hard), out, 100)).rejects.toThrow(TarFormatError);
  });

  it('should stop at the byte limit, counting expanded bytes of a .tar.gz', async () => {
    const big = await collect(tarStream([{ path: 'z', size: 100_000, body: () => [Buffer.alloc(100_000)] }]));
    const gz = gzipSync(big);
    expect(gz.length).toBeLessThan(1000);
    await expect(extractTar(gunzipIfCompressed(chunked(gz)), dir, 50_000)).rejects.toThrow(TarTooLargeError);
  });
});
