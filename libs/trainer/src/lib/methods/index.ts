import type { TrainingRunSpec } from '../contract';
import { prepareDpo } from './dpo';
import type { PrepareMethod } from './method';
import { prepareReinforcement } from './reinforcement';
import { prepareSupervised } from './supervised';

/** The training methods by name: the loop looks a method up here and never branches on one. */
export const TRAINING_METHODS: Readonly<Record<TrainingRunSpec['method'], PrepareMethod>> = {
  reinforcement: prepareReinforcement,
  supervised: prepareSupervised,
  dpo: prepareDpo,
};

export type { PreparedMethod, PrepareMethod, TrainingData } from './method';
