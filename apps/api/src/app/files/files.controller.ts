import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  StreamableFile,
} from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';

import { UPLOAD_PURPOSES } from '@tracetune/contracts';

import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { FileDeletedDto, FileListDto, FileObjectDto, ListFilesQueryDto } from './files.dto';
import { FilesService } from './files.service';

@ApiTags('files')
@ApiBearerAuth()
@Controller('v1/files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Upload a file (streamed; fine-tune JSONL is validated line by line)' })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'purpose'],
      properties: {
        file: { type: 'string', format: 'binary' },
        purpose: { type: 'string', enum: [...UPLOAD_PURPOSES] },
      },
    },
  })
  @ApiOkResponse({ type: FileObjectDto })
  upload(@CurrentPrincipal() caller: Principal, @Req() request: Request) {
    return this.files.upload(caller, request);
  }

  @Get()
  @ApiOperation({ summary: 'List files' })
  @ApiOkResponse({ type: FileListDto })
  list(@CurrentPrincipal() caller: Principal, @Query() query: ListFilesQueryDto) {
    return this.files.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a file' })
  @ApiOkResponse({ type: FileObjectDto })
  retrieve(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return this.files.retrieve(caller, id);
  }

  @Get(':id/content')
  @ApiOperation({ summary: 'Download the file content' })
  async content(
    @CurrentPrincipal() caller: Principal,
    @Param('id') id: string,
    @Res({ passthrough: true }) response: Response,
  ): Promise<StreamableFile> {
    const { file, stream } = await this.files.content(caller, id);
    response.setHeader('content-disposition', `attachment; filename="${file.filename.replace(/"/g, '')}"`);
    return new StreamableFile(stream, { type: 'application/octet-stream', length: Number(file.bytes) });
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a file (refused while a live fine-tuning job uses it)' })
  @ApiOkResponse({ type: FileDeletedDto })
  delete(@CurrentPrincipal() caller: Principal, @Param('id') id: string) {
    return this.files.delete(caller, id);
  }
}
