import { generateArithmetic } from './arithmetic';
import { generateCountdown } from './countdown';
import type { TaskOptions, TaskProblem } from './types';

export { generateArithmetic } from './arithmetic';
export { generateCountdown } from './countdown';
export {
  mathAnswerGrader,
  type TaskDifficulty,
  type TaskOptions,
  type TaskProblem,
  toJsonl,
  toRftLine,
  toSftLine,
} from './types';

export const TASKS: Record<'arithmetic' | 'countdown', (options: TaskOptions) => TaskProblem[]> = {
  arithmetic: generateArithmetic,
  countdown: generateCountdown,
};
