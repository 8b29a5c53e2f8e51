import { generateArithmetic } from './arithmetic';
import { generateChain } from './chain';
import { generateCountdown } from './countdown';
import type { TaskOptions, TaskProblem } from './types';

export { generateArithmetic } from './arithmetic';
export { firstErrorLine, generateChain, type ChainOptions, type ChainVariant } from './chain';
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

export const TASKS: Record<'arithmetic' | 'countdown' | 'chain', (options: TaskOptions) => TaskProblem[]> = {
  arithmetic: generateArithmetic,
  countdown: generateCountdown,
  chain: (o) => generateChain({ n: o.n, seed: o.seed, operations: o.operations, operandMax: o.operandMax }),
};
