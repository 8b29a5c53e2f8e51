import type { Readable } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';

import { ApiError } from '../common/api-error';

export interface MultipartUpload<T> {
  fields: Record<string, string>;
  filename: string;
  /** What `onFile` returned, once the whole stream was consumed. */
  stored: T;
}

const LIMITS = { files: 1, fields: 8, parts: 9, fieldSize: 64 * 1024, headerPairs: 16 };
const MAX_FILENAME_CHARS = 255;

const badRequest = (message: string, param = 'file', code: string | null = null) =>
  ApiError.badRequest(message, param, code);

/**
 * Streams a multipart/form-data request: `onFile` gets the one `file` part as a stream (never buffered here) and
 * returns a promise for what it made of it; the other fields are collected as strings.
 *
 * Every stream involved has an error listener from the moment it exists (busboy fails a file stream with
 * "Unexpected end of form" when the body is cut off, possibly before `onFile` has piped it anywhere). Whatever goes
 * wrong — malformed framing, a second file, an unknown or oversized field, a client that disconnects, a storing
 * error — the promise rejects with an OpenAI-shaped error only once `onFile`'s promise has settled, so the caller's
 * cleanup of what `onFile` made cannot race a write still in progress.
 */
export function readMultipartUpload<T>(
  request: Request,
  onFile: (stream: Readable, filename: string) => Promise<T>,
  /** The text fields the endpoint knows; any other field is refused by name. */
  knownFields: readonly string[],
): Promise<MultipartUpload<T>> {
  const contentType = request.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(contentType)) {
    return Promise.reject(badRequest("Expected a multipart/form-data body with a 'file' part."));
  }
  return new Promise((resolve, reject) =>
    new MultipartReader(request, onFile, new Set(knownFields), resolve, reject).start(),
  );
}

class MultipartReader<T> {
  private readonly fields: Record<string, string> = {};
  private filename = '';
  private fileStream: Readable | undefined;
  private storing: Promise<T> | undefined;
  private settled = false;
  private form: busboy.Busboy | undefined;

  constructor(
    private readonly request: Request,
    private readonly onFile: (stream: Readable, filename: string) => Promise<T>,
    private readonly knownFields: ReadonlySet<string>,
    private readonly resolve: (upload: MultipartUpload<T>) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  start(): void {
    try {
      this.form = busboy({ headers: this.request.headers, limits: LIMITS });
    } catch (error) {
      this.fail(badRequest(`Malformed multipart body: ${(error as Error).message}`));
      return;
    }
    this.listen(this.form);
    this.request.on('error', () => this.interrupted());
    // A client that goes away mid-upload: fail the file stream so the store discards its partial write.
    this.request.on('close', () => {
      if (!this.request.complete) this.interrupted();
    });
    this.request.pipe(this.form);
  }

  private listen(form: busboy.Busboy): void {
    form.on('field', (name, value, info) => this.field(name, value, info.valueTruncated));
    form.on('file', (name, stream, info) => this.file(name, stream, info.filename));
    form.on('filesLimit', () =>
      this.fail(badRequest("Exactly one file part is allowed, named 'file'; this form has several.")),
    );
    form.on('fieldsLimit', () => this.fail(badRequest('Too many form fields.', 'purpose')));
    form.on('partsLimit', () => this.fail(badRequest('Too many parts in the multipart body.')));
    form.on('error', (error: Error) => this.fail(badRequest(`Malformed multipart body: ${error.message}`)));
    form.on('close', () => this.finish());
  }

  private field(name: string, value: string, truncated: boolean): void {
    if (name === 'file') {
      this.fail(badRequest("'file' must be a file part (with a filename), not a plain field."));
    } else if (!this.knownFields.has(name)) {
      const param = printable(name);
      this.fail(badRequest(`Unrecognized request argument supplied: ${param}`, param, 'unknown_parameter'));
    } else if (truncated) {
      this.fail(badRequest(`'${name}' is longer than ${LIMITS.fieldSize} bytes.`, name));
    } else if (name in this.fields) {
      this.fail(badRequest(`'${name}' was given more than once.`, name));
    } else {
      this.fields[name] = value;
    }
  }

  private file(name: string, stream: Readable, filename: string | undefined): void {
    // First thing: a file stream can fail (cut-off body) before anything else listens to it.
    stream.on('error', () => undefined);
    if (this.settled || name !== 'file') {
      stream.resume();
      if (name !== 'file') {
        this.fail(badRequest(`Unexpected file part ${printable(name)}: the file goes in 'file'.`));
      }
      return;
    }
    const checked = checkFilename(filename);
    if (checked instanceof ApiError) {
      stream.resume();
      this.fail(checked);
      return;
    }
    this.filename = checked;
    this.fileStream = stream;
    this.storing = Promise.resolve().then(() => this.onFile(stream, checked));
    // Surface a storing failure (size limit, disk) at once instead of waiting for the end of the form.
    this.storing.catch((error: unknown) => this.fail(error));
  }

  private finish(): void {
    if (this.settled) return;
    if (!this.storing) {
      this.fail(badRequest("Missing required parameter: 'file'."));
      return;
    }
    this.storing.then(
      (stored) => {
        if (this.settled) return;
        this.settled = true;
        this.resolve({ fields: this.fields, filename: this.filename, stored });
      },
      (error: unknown) => this.fail(error),
    );
  }

  private interrupted(): void {
    this.fail(badRequest('The upload was interrupted before it completed.'));
  }

  /** Stops reading, fails the file stream and rejects once `onFile`'s work has settled. First failure wins. */
  private fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.form) this.request.unpipe(this.form);
    // Drain what the client still sends, so the error response can be read (no further parsing happens).
    if (!this.request.destroyed) this.request.resume();
    if (this.fileStream && !this.fileStream.readableEnded) this.fileStream.destroy(toError(error));
    void Promise.allSettled([this.storing]).then(() => this.reject(error));
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A name safe to echo in a message: control characters escaped, length bounded. */
function printable(name: string): string {
  return JSON.stringify(name.slice(0, 64)).slice(1, -1);
}

function checkFilename(filename: string | undefined): string | ApiError {
  const name = filename ?? '';
  if (name === '') return 'upload.jsonl';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) {
    return badRequest('The file name may not contain control characters.');
  }
  if (name.length > MAX_FILENAME_CHARS) {
    return badRequest(`The file name is longer than ${MAX_FILENAME_CHARS} characters.`);
  }
  return name;
}
