import { Global, Module } from '@nestjs/common';

import { PrismaService } from './prisma.service';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { CheckpointPermissionsRepository } from './repositories/checkpoint-permissions.repository';
import { CheckpointsRepository } from './repositories/checkpoints.repository';
import { DeploymentRepository } from './repositories/deployment.repository';
import { FilesRepository } from './repositories/files.repository';
import { FineTuningEventsRepository } from './repositories/fine-tuning-events.repository';
import { FineTuningJobsRepository } from './repositories/fine-tuning-jobs.repository';
import { ModelsRepository } from './repositories/models.repository';
import { OrganizationsRepository } from './repositories/organizations.repository';
import { TrainingMetricsRepository } from './repositories/training-metrics.repository';

const repositories = [
  ApiKeysRepository,
  CheckpointPermissionsRepository,
  CheckpointsRepository,
  DeploymentRepository,
  FilesRepository,
  FineTuningEventsRepository,
  FineTuningJobsRepository,
  ModelsRepository,
  OrganizationsRepository,
  TrainingMetricsRepository,
];

/** PrismaService and every repository; needs the global ConfigModule. */
@Global()
@Module({ providers: [PrismaService, ...repositories], exports: [PrismaService, ...repositories] })
export class DbModule {}
