import { Injectable, type ArgumentMetadata, type PipeTransform } from '@nestjs/common';

import { idProblem } from '@tracetune/contracts';

import { ApiError } from './api-error';

/**
 * Checks every path parameter before a controller sees it: ids (`%00`, other control characters, over-long values)
 * that no object can have are a 400 naming the route's parameter, never a database error. Route parameters are named
 * as the 404 of their resource names them (`fine_tuning_job_id`, `model`, `id`).
 */
@Injectable()
export class PathParamPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type !== 'param' || typeof value !== 'string') return value;
    const problem = idProblem(value);
    if (problem) {
      const param = metadata.data ?? 'id';
      throw ApiError.badRequest(`Invalid '${param}': ${problem}.`, param, 'invalid_value');
    }
    return value;
  }
}
