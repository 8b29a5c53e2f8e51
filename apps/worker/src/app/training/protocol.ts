import type { BackendChoice } from '@tracetune/contracts';
import type {
  CheckpointInfo,
  ControlSignal,
  RunTrainingOptions,
  SampleCompletion,
  StepMetrics,
  TrainingOutcome,
  TrainingRunSpec,
} from '@tracetune/trainer';

/**
 * Messages between the worker (parent: queue lock, database) and its training process (child: all compute). The
 * child never touches the database or Redis; the parent never computes. A dead parent takes the child with it.
 */
export type ParentMessage =
  | {
      type: 'start';
      /** The run: settings and the paths of its files (data travels by path, never by content). */
      spec: TrainingRunSpec;
      options: Omit<RunTrainingOptions, 'callbacks'>;
      backend: BackendChoice;
    }
  | { type: 'control'; signal: ControlSignal };

export type ChildMessage =
  | { type: 'ready'; backend: string; reason: string }
  | { type: 'step'; step: number; totalSteps: number; metrics: StepMetrics }
  | { type: 'event'; level: 'info' | 'warn' | 'error'; message: string; data?: Record<string, unknown> }
  | { type: 'samples'; step: number; samples: SampleCompletion[] }
  | { type: 'checkpoint'; checkpoint: CheckpointInfo }
  | { type: 'outcome'; outcome: TrainingOutcome }
  | { type: 'failure'; code: string; message: string; param: string | null; step: number | null };
