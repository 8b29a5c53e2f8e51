import { Injectable } from '@nestjs/common';

import {
  newId,
  toListPage,
  type CheckpointPermissionObject,
  type CreateCheckpointPermissionRequest,
  type ListCheckpointPermissionsQuery,
  type ListResponse,
} from '@tracetune/contracts';
import {
  CheckpointPermissionsRepository,
  ModelsRepository,
  OrganizationsRepository,
  type CheckpointPermission,
  type Model,
} from '@tracetune/db';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';

function toPermissionObject(row: CheckpointPermission): CheckpointPermissionObject {
  return {
    id: row.id,
    object: 'checkpoint.permission',
    created_at: unixSeconds(row.createdAt),
    project_id: row.projectId,
  };
}

/**
 * Sharing a fine-tuned model or checkpoint with other organizations (OpenAI's checkpoint permissions; organizations
 * stand for projects). Only an admin key of the owning organization manages them; a granted organization sees the
 * model in its list, chats with it and fine-tunes from it until the permission is deleted.
 */
@Injectable()
export class CheckpointPermissionsService {
  constructor(
    private readonly permissions: CheckpointPermissionsRepository,
    private readonly models: ModelsRepository,
    private readonly organizations: OrganizationsRepository,
  ) {}

  async create(
    caller: Principal,
    modelId: string,
    body: CreateCheckpointPermissionRequest,
  ): Promise<ListResponse<CheckpointPermissionObject>> {
    await this.owned(caller, modelId);
    for (const [i, projectId] of body.project_ids.entries()) {
      if (!(await this.organizations.findById(projectId)))
        throw ApiError.notFound(`No organization (project) '${projectId}'.`, `project_ids[${i}]`);
      if (projectId === caller.organizationId)
        throw ApiError.badRequest(
          'The checkpoint already belongs to this organization.',
          `project_ids[${i}]`,
          'invalid_value',
        );
    }
    const unique = [...new Set(body.project_ids)];
    const rows = await this.permissions.grant(
      caller.organizationId,
      modelId,
      unique.map((projectId) => ({ id: newId('checkpointPermission'), projectId })),
    );
    return { object: 'list', data: rows.map(toPermissionObject), has_more: false };
  }

  async list(
    caller: Principal,
    modelId: string,
    query: ListCheckpointPermissionsQuery,
  ): Promise<ListResponse<CheckpointPermissionObject>> {
    await this.owned(caller, modelId);
    const rows = await this.permissions.list(caller.organizationId, modelId, {
      projectId: query.project_id,
      order: query.order === 'ascending' ? 'asc' : 'desc',
    });
    let start = 0;
    if (query.after) {
      start = rows.findIndex((r) => r.id === query.after) + 1;
      if (start === 0)
        throw ApiError.badRequest(`No permission with id '${query.after}' to page after.`, 'after');
    }
    return toListPage(rows.slice(start, start + query.limit + 1).map(toPermissionObject), query.limit);
  }

  async delete(
    caller: Principal,
    modelId: string,
    id: string,
  ): Promise<{ id: string; object: 'checkpoint.permission'; deleted: boolean }> {
    await this.owned(caller, modelId);
    if (!(await this.permissions.revoke(caller.organizationId, modelId, id)))
      throw ApiError.notFound(`No permission '${id}' on '${modelId}'.`, 'permission_id');
    return { id, object: 'checkpoint.permission', deleted: true };
  }

  /** A fine-tuned model or checkpoint of the caller's organization, or the 404 another organization would get. */
  private async owned(caller: Principal, modelId: string): Promise<Model> {
    const model = await this.models.findById(modelId);
    if (!model || model.organizationId !== caller.organizationId || model.kind === 'base')
      throw ApiError.notFound(
        `No fine-tuned model or checkpoint '${modelId}' in your organization.`,
        'fine_tuned_model_checkpoint',
      );
    return model;
  }
}
