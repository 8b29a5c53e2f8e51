import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';

import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import {
  ApiKeyDto,
  ApiKeyListDto,
  CreateApiKeyDto,
  CreatedApiKeyDto,
  ListApiKeysQueryDto,
} from './api-keys.dto';
import { ApiKeysService } from './api-keys.service';

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('admin/api-keys')
export class ApiKeysController {
  constructor(private readonly apiKeys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API key (the secret is returned once)' })
  @ApiOkResponse({ type: CreatedApiKeyDto })
  create(@CurrentPrincipal() caller: Principal, @Body() body: CreateApiKeyDto) {
    return this.apiKeys.create(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'List API keys of an organization' })
  @ApiOkResponse({ type: ApiKeyListDto })
  list(@CurrentPrincipal() caller: Principal, @Query() query: ListApiKeysQueryDto) {
    return this.apiKeys.list(caller, query.organization_id);
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Revoke an API key of any organization by id (with organization_id: only a key of that organization)',
  })
  @ApiOkResponse({ type: ApiKeyDto })
  revoke(@Param('id') id: string, @Query() query: ListApiKeysQueryDto) {
    return this.apiKeys.revoke(id, query.organization_id);
  }
}
