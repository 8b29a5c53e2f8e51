export { envSchema, LOG_LEVELS, type AppConfig } from './lib/env.schema';
export { backendFromEnvironment, Config, ConfigError, loadConfig } from './lib/load-config';
export { ConfigModule } from './lib/config.module';
export { artifactStoreSettings } from './lib/storage-settings';
