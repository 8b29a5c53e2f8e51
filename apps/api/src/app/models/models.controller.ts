import { pipeline, Readable } from 'node:stream';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createZodDto } from 'nestjs-zod';

import { importModelSchema, modelContentQuerySchema } from '@tracetune/contracts';

import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { ModelsService } from './models.service';

class ImportModelDto extends createZodDto(importModelSchema) {}
class ModelContentQueryDto extends createZodDto(modelContentQuerySchema) {}

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

  @Get('v1/models/:model')
  @ApiOperation({ summary: 'Retrieve a model (ids containing / arrive as %2F)' })
  retrieve(@CurrentPrincipal() caller: Principal, @Param('model') id: string) {
    return this.models.retrieve(caller, id);
  }

  @Post('v1/models')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Upload a Hugging Face model folder (.tar or .tar.gz) as a base model of your organization (Tracetune extension)',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file'],
      properties: {
        file: {
          type: 'string',
          format: 'binary',
          description:
            'config.json, *.safetensors, tokenizer.json and tokenizer_config.json, at the root or under one top folder',
        },
        suffix: { type: 'string', description: 'Name part of the model id (letters, digits, . _ -; ≤ 40)' },
        chat_template: {
          type: 'string',
          description: 'Chat template (Jinja) when tokenizer_config.json has none; default ChatML',
        },
      },
    },
  })
  upload(@CurrentPrincipal() caller: Principal, @Req() request: Request) {
    return this.models.upload(caller, request);
  }

  @Get('v1/models/:model/content')
  @ApiOperation({
    summary:
      'Download one of your models (fine-tuned, checkpoint, uploaded) as a .tar of its Hugging Face folder; LoRA runs add adapter/ in PEFT layout',
  })
  @ApiProduces('application/x-tar')
  async content(
    @CurrentPrincipal() caller: Principal,
    @Param('model') id: string,
    @Query() query: ModelContentQueryDto,
    @Res() response: Response,
  ): Promise<void> {
    const { filename, bytes, stream } = await this.models.content(caller, id, query.dtype);
    response.setHeader('content-type', 'application/x-tar');
    response.setHeader('content-length', String(bytes));
    response.setHeader('content-disposition', `attachment; filename="${filename}"`);
    await new Promise<void>((resolve) => {
      // Headers are gone once streaming starts: a failure mid-way can only cut the connection.
      pipeline(Readable.from(stream), response, () => resolve());
    });
  }

  @Delete('v1/models/:model')
  @ApiOperation({ summary: 'Delete one of your fine-tuned models (and its checkpoints)' })
  delete(@CurrentPrincipal() caller: Principal, @Param('model') id: string) {
    return this.models.delete(caller, id);
  }

  @Post('admin/models/import')
  @AdminOnly()
  @ApiOperation({ summary: 'Register a Hugging Face checkpoint directory on the server as a base model' })
  import(@Body() body: ImportModelDto) {
    return this.models.import(body);
  }
}
