import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';

import { createCheckpointPermissionSchema, listCheckpointPermissionsQuerySchema } from '@tracetune/contracts';

import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { CheckpointPermissionsService } from './checkpoint-permissions.service';

class CreatePermissionDto extends createZodDto(createCheckpointPermissionSchema) {}
class ListPermissionsQueryDto extends createZodDto(listCheckpointPermissionsQuerySchema) {}

/** `fineTuning.checkpoints.permissions.*`: the SDK sends these with its `adminAPIKey`. */
@ApiTags('fine-tuning')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/fine_tuning/checkpoints/:checkpoint/permissions')
export class CheckpointPermissionsController {
  constructor(private readonly permissions: CheckpointPermissionsService) {}

  @Post()
  @ApiOperation({
    summary: 'Share a fine-tuned model or checkpoint with organizations (admin key of its owner)',
  })
  create(
    @CurrentPrincipal() caller: Principal,
    @Param('checkpoint') checkpoint: string,
    @Body() body: CreatePermissionDto,
  ) {
    return this.permissions.create(caller, checkpoint, body);
  }

  @Get()
  @ApiOperation({ summary: 'List who a fine-tuned model or checkpoint is shared with' })
  list(
    @CurrentPrincipal() caller: Principal,
    @Param('checkpoint') checkpoint: string,
    @Query() query: ListPermissionsQueryDto,
  ) {
    return this.permissions.list(caller, checkpoint, query);
  }

  @Delete(':permission')
  @ApiOperation({ summary: 'Revoke a permission: the organization loses access at once' })
  delete(
    @CurrentPrincipal() caller: Principal,
    @Param('checkpoint') checkpoint: string,
    @Param('permission') permission: string,
  ) {
    return this.permissions.delete(caller, checkpoint, permission);
  }
}
