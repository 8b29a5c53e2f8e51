import type { Readable } from 'node:stream';
import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import type { Request } from 'express';

import { Config } from '@tracetune/config';
import {
  JsonlValidator,
  newId,
  toListPage,
  UPLOAD_PURPOSES,
  type FileObject,
  type FilePurpose,
  type ListFilesQuery,
  type ListResponse,
  type ValidationReport,
} from '@tracetune/contracts';
import { FilesRepository, type File } from '@tracetune/db';
import { artifactKey, ArtifactTooLargeError, type ArtifactStore } from '@tracetune/storage';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';
import { RateLimitsService } from '../rate-limits/rate-limits.service';
import { ARTIFACT_STORE } from '../storage/storage.module';
import { readMultipartUpload } from './multipart-upload';

/** The form fields of `POST /v1/files` besides `file` (`expires_after` is accepted and ignored: files do not expire). */
const UPLOAD_FIELDS = ['purpose', 'expires_after[anchor]', 'expires_after[seconds]'];

/** Blobs older than this without a row are leftovers of a crash between storing and recording an upload. */
const ORPHAN_AGE_MS = 60 * 60 * 1000;

export function toFileObject(file: File): FileObject {
  return {
    id: file.id,
    object: 'file',
    bytes: Number(file.bytes),
    created_at: unixSeconds(file.createdAt),
    expires_at: null,
    filename: file.filename,
    purpose: file.purpose as FilePurpose,
    status: file.status,
    status_details: file.statusDetails,
    validation: (file.validation as Record<string, unknown> | null) ?? null,
  };
}

function statusDetails(report: ValidationReport): string | null {
  if (report.format) return null;
  const shown = report.errors.slice(0, 5).map((e) => e.message);
  const more = report.error_count - shown.length;
  return `${shown.join('; ')}${more > 0 ? ` (and ${more} more errors)` : ''}`;
}

@Injectable()
export class FilesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(FilesService.name);

  constructor(
    private readonly config: Config,
    private readonly files: FilesRepository,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
    private readonly limits: RateLimitsService,
  ) {}

  /**
   * Streams the upload to storage while validating it line by line; the row is written only once the blob is
   * complete, and the blob is removed if anything after it fails. A cut-off upload leaves neither.
   */
  async upload(caller: Principal, request: Request): Promise<FileObject> {
    const id = newId('file');
    const key = artifactKey('files', caller.organizationId, id);
    const fileLimit = this.config.get('TRACETUNE_MAX_UPLOAD_BYTES');
    // The hourly upload quota may leave less than one file's limit: the store stops at whichever comes first.
    const allowance = await this.limits.uploadAllowance(caller);
    const maxBytes = Math.min(fileLimit, allowance.bytes);
    const validator = new JsonlValidator(this.config.get('TRACETUNE_MAX_LINE_BYTES'));
    const store = (stream: Readable) =>
      this.store.put(key, stream, { maxBytes, observe: (chunk) => validator.push(chunk) });
    let upload;
    try {
      upload = await readMultipartUpload(request, store, UPLOAD_FIELDS);
    } catch (error) {
      await this.store.delete(key);
      if (error instanceof ArtifactTooLargeError && maxBytes < fileLimit) {
        throw this.limits.uploadRefused(caller, allowance);
      }
      if (error instanceof ArtifactTooLargeError) {
        throw new ApiError(
          413,
          `File too large: the limit is ${fileLimit} bytes (TRACETUNE_MAX_UPLOAD_BYTES).`,
          {
            param: 'file',
            code: 'file_too_large',
          },
        );
      }
      throw error;
    }
    try {
      const purpose = upload.fields['purpose'];
      if (!purpose) throw ApiError.badRequest("Missing required parameter: 'purpose'.", 'purpose');
      if (!(UPLOAD_PURPOSES as readonly string[]).includes(purpose)) {
        throw ApiError.badRequest(
          `Invalid value for 'purpose': '${purpose}'. Supported values are: ${UPLOAD_PURPOSES.map((p) => `'${p}'`).join(', ')}.`,
          'purpose',
        );
      }
      const report = purpose === 'fine-tune' ? validator.finish() : null;
      const file = await this.files.create({
        id,
        organizationId: caller.organizationId,
        filename: upload.filename,
        purpose,
        bytes: upload.stored.bytes,
        status: report && !report.format ? 'error' : 'processed',
        statusDetails: report ? statusDetails(report) : null,
        storageKey: key,
        sha256: upload.stored.sha256,
        lineCount: report?.lines ?? null,
        validation: report ? (JSON.parse(JSON.stringify(report)) as object) : null,
      });
      await this.limits.recordUpload(caller, Number(file.bytes)); // (never throws: limits fail open)
      return toFileObject(file);
    } catch (error) {
      await this.store.delete(key);
      throw error;
    }
  }

  async list(caller: Principal, query: ListFilesQuery): Promise<ListResponse<FileObject>> {
    const rows = await this.files.list(caller.organizationId, query);
    if (!rows) throw ApiError.badRequest(`No file with id '${query.after}' to page after.`, 'after');
    return toListPage(rows.map(toFileObject), query.limit);
  }

  async retrieve(caller: Principal, id: string): Promise<FileObject> {
    return toFileObject(await this.get(caller, id));
  }

  async content(caller: Principal, id: string): Promise<{ file: File; stream: Readable }> {
    const file = await this.get(caller, id);
    return { file, stream: await this.store.get(artifactKey(file.storageKey)) };
  }

  async delete(caller: Principal, id: string): Promise<{ id: string; object: 'file'; deleted: boolean }> {
    const file = await this.get(caller, id);
    const jobs = await this.files.liveJobsUsing(caller.organizationId, id);
    if (jobs.length > 0) {
      throw ApiError.conflict(
        `File ${id} is in use by the fine-tuning job(s) ${jobs.join(', ')}; cancel them first.`,
        'file_id',
        'file_in_use',
      );
    }
    // Row first: a crash between the two leaves an unreferenced blob (swept at boot), never a row without its blob.
    await this.files.delete(caller.organizationId, id);
    await this.store.delete(artifactKey(file.storageKey));
    return { id, object: 'file', deleted: true };
  }

  /** The file row of the caller's organization, or a 404 naming the id. */
  async get(caller: Principal, id: string): Promise<File> {
    const file = await this.files.find(caller.organizationId, id);
    if (!file) throw ApiError.notFound(`No such File object: ${id}`, 'id');
    return file;
  }

  /** Removes blobs left by a crash between storing an upload and recording its row. */
  async onApplicationBootstrap(): Promise<void> {
    const known = await this.files.allStorageKeys();
    for (const key of await this.store.list(artifactKey('files'))) {
      if (known.has(key)) continue; // (one stat per unknown blob only: on S3 each is a request)
      const info = await this.store.stat(key);
      if (info && Date.now() - info.modifiedAt.getTime() > ORPHAN_AGE_MS) {
        await this.store.delete(key);
        this.logger.warn(`removed orphaned upload ${key}`);
      }
    }
  }
}
