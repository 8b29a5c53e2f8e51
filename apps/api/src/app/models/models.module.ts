import { Module } from '@nestjs/common';

import { CheckpointPermissionsController } from './checkpoint-permissions.controller';
import { CheckpointPermissionsService } from './checkpoint-permissions.service';
import { ModelsController } from './models.controller';
import { ModelsService } from './models.service';

@Module({
  controllers: [ModelsController, CheckpointPermissionsController],
  providers: [ModelsService, CheckpointPermissionsService],
  exports: [ModelsService],
})
export class ModelsModule {}
