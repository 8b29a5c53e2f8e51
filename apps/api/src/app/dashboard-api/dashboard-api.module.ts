import { Module } from '@nestjs/common';

import { DashboardApiController } from './dashboard-api.controller';
import { DashboardApiService } from './dashboard-api.service';

/** Training metrics and the live job stream for the dashboard (repositories come from the global DbModule). */
@Module({ controllers: [DashboardApiController], providers: [DashboardApiService] })
export class DashboardApiModule {}
