import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';

import { importModelSchema } from '@tracetune/contracts';

import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ModelsService } from './models.service';

class ImportModelDto extends createZodDto(importModelSchema) {}

@ApiTags('models')
@ApiBearerAuth()
@Controller()
export class ModelsController {
  constructor(private readonly models: ModelsService) {}

  @Get('v1/models')
  @ApiOperation({
    summary: 'List models you can use: built-in and imported bases, your fine-tuned models and checkpoints',
  })
  list(@CurrentPrincipal() caller: Principal) {
    return this.models.list(caller);
  }

  @Get('v1/models/:id')
  @ApiOperation({ summary: 'Retrieve a model (ids containing / arrive as %2F)' })
  retrieve(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return this.models.retrieve(caller, id);
  }

  @Delete('v1/models/:id')
  @ApiOperation({ summary: 'Delete one of your fine-tuned models (and its checkpoints)' })
  delete(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return this.models.delete(caller, id);
  }

  @Post('admin/models/import')
  @AdminOnly()
  @ApiOperation({ summary: 'Register a Hugging Face checkpoint directory on the server as a base model' })
  import(@Body() body: ImportModelDto) {
    return this.models.import(body);
  }
}
