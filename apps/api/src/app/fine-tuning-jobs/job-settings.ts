import {
  resolveMethod,
  RL_SETTING_FIELDS,
  rlSettings,
  type CreateFineTuningJobRequest,
  type MethodInput,
  type StoredMethod,
} from '@tracetune/contracts';
import { checkRlConfig } from '@tracetune/rl-core/config';

import { ApiError } from '../common/api-error';

/** A method the api can train: supervised, reinforcement with its `reinforcement` object, or DPO. */
export type TrainableMethod = MethodInput;

/**
 * The request's method (a request without one is supervised, with the legacy top-level hyperparameters), refused
 * when it cannot be trained. Cheap: runs before the files are looked at.
 */
export function requestedMethod(body: CreateFineTuningJobRequest): TrainableMethod {
  const method = body.method ?? { type: 'supervised' as const };
  if (method.type === 'reinforcement' && !method.reinforcement) {
    throw ApiError.badRequest(
      "method.reinforcement (with a grader) is required when method.type is 'reinforcement'.",
      'method.reinforcement',
    );
  }
  return method;
}

/**
 * A job's settings, resolved once for storage (every "auto" and default of libs/contracts' tables, so a job's
 * behaviour never changes when defaults do) and, for reinforcement, checked by rl-core's own rules on the very config
 * the trainer will build: every setting the trainer would refuse is a 400 here, `param` naming the job field.
 */
export function resolveJobSettings(
  method: TrainableMethod,
  examples: number,
  legacyHyperparameters: CreateFineTuningJobRequest['hyperparameters'],
): StoredMethod {
  const stored = resolveMethod(method, examples, legacyHyperparameters);
  if (stored.type === 'reinforcement') {
    const { algorithm, hyperparameters } = stored.reinforcement;
    const [problem] = checkRlConfig(rlSettings(algorithm, hyperparameters)).problems;
    if (problem) {
      const field = RL_SETTING_FIELDS[problem.key as keyof typeof RL_SETTING_FIELDS];
      const param = field ? `method.reinforcement.algorithm.${field}` : 'method.reinforcement.algorithm';
      throw ApiError.badRequest(`Invalid ${param}: ${problem.message}.`, param);
    }
  }
  return stored;
}
