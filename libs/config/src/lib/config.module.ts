import { Global, Module, type DynamicModule } from '@nestjs/common';

import { Config } from './load-config';

/** Makes the validated {@link Config} injectable everywhere; apps build it once in main.ts (or tests, from a map). */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: Config): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: Config, useValue: config }], exports: [Config] };
  }
}
