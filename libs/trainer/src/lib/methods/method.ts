import type { ParsedLine } from '@tracetune/contracts';

import type { TrainingRunSpec } from '../contract';
import type { TrainingMethod } from '../loop';
import type { Session } from '../session';
import type { TrainerSettings } from '../settings';

/** The parsed lines of a run's data files. */
export interface TrainingData {
  train: ParsedLine[];
  /** Empty without a validation file. */
  valid: ParsedLine[];
}

/**
 * A method prepared for a run: what it checked and built before any model loads (cheap failures first: an invalid
 * config or grader fails before the weights are read), and how it opens its step function on the session.
 */
export interface PreparedMethod {
  /** Builds the step function on the session's model and tokenizer (and whatever else the method holds). */
  open(session: Session): TrainingMethod;
  /** Frees what the method holds (grader, reference model); safe before or without `open`. */
  dispose(): void;
}

export type PrepareMethod = (
  spec: TrainingRunSpec,
  data: TrainingData,
  settings: TrainerSettings,
) => PreparedMethod;

/** `now` in seconds, for the step's phase timings. */
export const now = (): number => performance.now() / 1000;
