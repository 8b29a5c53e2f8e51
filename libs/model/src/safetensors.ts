import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

/**
 * safetensors (https://github.com/huggingface/safetensors, "Format"): 8-byte little-endian header length N, N bytes of
 * JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { … } }`, then the data; offsets are
 * relative to the first byte after the header. Written here because the npm `safetensors` package mishandles Node
 * Buffers. Reading goes through a file handle, one tensor at a time, so a checkpoint is never buffered whole.
 */

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

export interface TensorEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

/** An open safetensors file: parsed header, tensors read on demand as float32. Close it when done. */
export class SafetensorsFile {
  readonly tensors = new Map<string, TensorEntry>();
  readonly metadata: Record<string, string>;
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.fd).size;
      if (size < 8) throw new Error(`${path} is truncated: ${size} bytes, not even the 8-byte header length`);
      const lenBuf = Buffer.alloc(8);
      readSync(this.fd, lenBuf, 0, 8, 0);
      const headerLen = Number(lenBuf.readBigUInt64LE(0));
      if (headerLen > size - 8 || headerLen > 100_000_000) {
        throw new Error(
          `${path} is truncated or not safetensors: header length ${headerLen} exceeds the file (${size} bytes)`,
        );
      }
      const headerBuf = Buffer.alloc(headerLen);
      readSync(this.fd, headerBuf, 0, headerLen, 8);
      let header: Record<string, unknown>;
      try {
        header = JSON.parse(headerBuf.toString('utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new Error(`${path}: safetensors header is not valid JSON (${(e as Error).message})`);
      }
      this.metadata = (header['__metadata__'] ?? {}) as Record<string, string>;
      const dataStart = 8 + headerLen;
      for (const [name, raw] of Object.entries(header)) {
        if (name === '__metadata__') continue;
        const {
          dtype,
          shape,
          data_offsets: offsets,
        } = raw as { dtype: string; shape: number[]; data_offsets: [number, number] };
        if (!(dtype in BYTES)) {
          throw new Error(
            `${path}: tensor "${name}" has dtype ${dtype}; supported: ${Object.keys(BYTES).join(', ')}`,
          );
        }
        const count = shape.reduce((a, b) => a * b, 1);
        const expected = count * BYTES[dtype as SafetensorsDtype];
        if (!Array.isArray(offsets) || offsets[1] - offsets[0] !== expected) {
          throw new Error(
            `${path}: tensor "${name}" spans ${offsets?.[1] - offsets?.[0]} bytes but ${dtype}${JSON.stringify(shape)} needs ${expected}`,
          );
        }
        if (dataStart + offsets[1] > size) {
          throw new Error(
            `${path} is truncated: tensor "${name}" ends at byte ${dataStart + offsets[1]} but the file has ${size}`,
          );
        }
        this.tensors.set(name, {
          dtype: dtype as SafetensorsDtype,
          shape,
          begin: dataStart + offsets[0],
          end: dataStart + offsets[1],
        });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Reads one tensor, converted to float32. */
  read(name: string): { data: Float32Array; shape: number[]; dtype: SafetensorsDtype } {
    const entry = this.tensors.get(name);
    if (!entry) throw new Error(`${this.path} has no tensor "${name}"`);
    if (this.fd === null) throw new Error(`${this.path} is closed`);
    const bytes = new Uint8Array(entry.end - entry.begin); // fresh ArrayBuffer: aligned for typed views
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(this.fd, bytes, done, bytes.length - done, entry.begin + done);
      if (n === 0) throw new Error(`${this.path} is truncated while reading tensor "${name}"`);
      done += n;
    }
    return { data: toFloat32(bytes, entry.dtype), shape: entry.shape, dtype: entry.dtype };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** IEEE half → float. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal: frac · 2^(−14−10)
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / BYTES[dtype];
  switch (dtype) {
    case 'F32':
      return new Float32Array(bytes.buffer, bytes.byteOffset, n); // the file is little-endian, as are our hosts
    case 'F64':
      return Float32Array.from(new Float64Array(bytes.buffer, bytes.byteOffset, n));
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

/** A tensor to write: shape and a producer called once, when its bytes are due (streams big models). */
export interface TensorToWrite {
  name: string;
  shape: number[];
  data: () => Float32Array;
  /** Stored dtype (default F32; F16/BF16 round to nearest even — used for test fixtures and smaller exports). */
  dtype?: 'F32' | 'F16' | 'BF16';
}

function encode(data: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint16Array(data.length);
  if (dtype === 'F16') for (let i = 0; i < data.length; i++) out[i] = floatToHalf(data[i]);
  else {
    const bits = new Uint32Array(Float32Array.from(data).buffer);
    for (let i = 0; i < data.length; i++) {
      const x = bits[i];
      out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // round to nearest even
    }
  }
  return new Uint8Array(out.buffer);
}

function headerOf(tensors: readonly TensorToWrite[], metadata: Record<string, string>): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype ?? 'F32'];
    header[t.name] = { dtype: t.dtype ?? 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerBytes.length));
  return Buffer.concat([len, headerBytes]);
}

/** Size in bytes of the file `safetensorsChunks(tensors, metadata)` produces (known before any tensor is read). */
export function safetensorsBytes(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
): number {
  const data = tensors.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype ?? 'F32'], 0);
  return headerOf(tensors, metadata).length + data;
}

/**
 * A safetensors file as a sequence of chunks: the header, then each tensor encoded in its dtype, read one at a time
 * (what a download streams without building the file).
 */
export function* safetensorsChunks(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
): Generator<Uint8Array> {
  yield headerOf(tensors, metadata);
  for (const t of tensors) {
    const data = t.data();
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected)
      throw new Error(
        `writeSafetensors: "${t.name}" has ${data.length} values, shape ${JSON.stringify(t.shape)} needs ${expected}`,
      );
    yield encode(data, t.dtype ?? 'F32');
  }
}

/**
 * Writes a safetensors file (F32 unless a tensor says otherwise): the 8-byte header length, the JSON header padded
 * with spaces to a multiple of 8 (as the reference writer does), then each tensor's bytes in order, produced and
 * written one at a time. `__metadata__.format = "pt"` is what `transformers` requires to load it.
 */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = { format: 'pt' },
): void {
  const fd = openSync(path, 'w');
  try {
    for (const chunk of safetensorsChunks(tensors, metadata)) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** The tensors of a file, re-encoded in `dtype` (each read only when written). */
export function convertedTensors(file: SafetensorsFile, dtype: 'F32' | 'F16' | 'BF16'): TensorToWrite[] {
  return [...file.tensors].map(([name, entry]) => ({
    name,
    shape: entry.shape,
    dtype,
    data: () => file.read(name).data,
  }));
}

export function floatToHalf(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  let mant = x & 0x7fffff;
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant = (mant | 0x800000) >> (1 - exp);
    return sign | ((mant + 0x1000) >> 13);
  }
  const half = sign | (exp << 10) | (mant >> 13);
  const rest = mant & 0x1fff;
  return rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half;
}
