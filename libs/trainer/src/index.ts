export * from './lib/contract';
export { runTraining } from './lib/run-training';
export { evaluateModelDir, type EvaluateModelOptions } from './lib/evaluate-model';
export {
  baseLearningRate,
  DEFAULT_TRAINER_SETTINGS,
  learningRateAt,
  type TrainerSettings,
} from './lib/settings';
export { readTrainerState, TRAINER_STATE_FILE, type TrainerState } from './lib/checkpoint';
export * from './lib/tasks';
export { runTrainingThread } from './lib/parallel/thread';
export { AUTO_THREADS_MIN_PARAMETERS, threadMemoryBytes, trainingThreads } from './lib/parallel/pool';
