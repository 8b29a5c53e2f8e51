/**
 * A training thread of `tracetune train --threads N` (libs/trainer's data parallelism): its own backend and model
 * replica. Started by the trainer with `threadEntry`.
 */
import { runTrainingThread } from '@tracetune/trainer';

void runTrainingThread();
