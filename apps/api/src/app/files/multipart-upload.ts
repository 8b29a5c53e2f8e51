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

/**
 * Streams a multipart/form-data request: `onFile` gets the `file` part as a stream (never buffered here) and returns a
 * promise for what it made of it; the other fields are collected as strings. Rejects with an OpenAI-shaped 400 for a
 * malformed form, and with `onFile`'s error if storing failed (the caller cleans up what `onFile` made).
 */
export function readMultipartUpload<T>(
  request: Request,
  onFile: (stream: Readable, filename: string) => Promise<T>,
): Promise<MultipartUpload<T>> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.startsWith('multipart/form-data')) {
    return Promise.reject(
      ApiError.badRequest(
        "Expected a multipart/form-data body with the fields 'file' and 'purpose'.",
        'file',
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let storing: Promise<T> | undefined;
    let filename = '';
    let fileStream: Readable | undefined;
    let form: busboy.Busboy;
    try {
      form = busboy({ headers: request.headers, limits: { files: 1, fields: 20, fieldSize: 64 * 1024 } });
    } catch (error) {
      reject(ApiError.badRequest(`Malformed multipart body: ${(error as Error).message}`, 'file'));
      return;
    }
    form.on('field', (name, value) => {
      fields[name] = value;
    });
    form.on('file', (name, stream, info) => {
      if (name !== 'file' || storing) {
        stream.resume();
        return;
      }
      filename = info.filename || 'upload.jsonl';
      fileStream = stream;
      storing = onFile(stream, filename);
      // Surface a storing failure (size limit, disk) at once instead of waiting for the end of the form.
      storing.catch((error: unknown) => {
        request.unpipe(form);
        request.resume();
        reject(error);
      });
    });
    form.on('error', (error: Error) => {
      reject(ApiError.badRequest(`Malformed multipart body: ${error.message}`, 'file'));
    });
    form.on('close', () => {
      if (!storing) {
        reject(ApiError.badRequest("Missing required parameter: 'file'.", 'file'));
        return;
      }
      storing.then((stored) => resolve({ fields, filename, stored }), reject);
    });
    // A client that goes away mid-upload: fail the file stream so the store discards its partial write.
    request.on('close', () => {
      if (request.complete) return;
      const interrupted = ApiError.badRequest('The upload was interrupted before it completed.', 'file');
      fileStream?.destroy(interrupted);
      reject(interrupted);
    });
    request.pipe(form);
  });
}
