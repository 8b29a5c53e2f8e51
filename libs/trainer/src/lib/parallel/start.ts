import type { RunTrainingOptions } from '../contract';
import { rlConfigFor } from '../rl';
import type { Session } from '../session';
import { TrainerPool, trainingThreads } from './pool';

/** The run's training threads on the session's current weights (resumed ones included); null for one thread. */
export async function startThreads(s: Session, options: RunTrainingOptions): Promise<TrainerPool | null> {
  const threads = trainingThreads(options.threads ?? 1, s.model.parameterCount(), options.threadLimits);
  if (threads <= 1) return null;
  const { spec } = s;
  const rl = spec.method === 'reinforcement' && spec.algorithm ? spec.algorithm : null;
  return TrainerPool.start(
    threads,
    s.trainables,
    {
      baseModel: spec.baseModel,
      seed: spec.seed,
      lora: spec.lora ?? null,
      reference: !!rl && rl.beta > 0,
      config: rl ? rlConfigFor(rl, spec.hyperparameters) : null,
    },
    options.threadEntry,
  );
}
