/**
 * A training thread of the training process (libs/trainer's data parallelism): its own backend and model replica.
 * Started by the trainer with `threadEntry`; speaks only the trainer's thread protocol.
 */
import { runTrainingThread } from '@tracetune/trainer';

void runTrainingThread();
