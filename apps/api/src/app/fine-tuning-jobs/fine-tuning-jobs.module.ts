import { Module } from '@nestjs/common';

import { FilesModule } from '../files/files.module';
import { GradersModule } from '../graders/graders.module';
import { ModelsModule } from '../models/models.module';
import { FineTuningJobsController } from './fine-tuning-jobs.controller';
import { FineTuningJobsService } from './fine-tuning-jobs.service';
import { QueueWatchService } from './queue-watch.service';

@Module({
  imports: [FilesModule, ModelsModule, GradersModule],
  controllers: [FineTuningJobsController],
  providers: [FineTuningJobsService, QueueWatchService],
  exports: [FineTuningJobsService],
})
export class FineTuningJobsModule {}
