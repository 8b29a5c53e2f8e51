export { freePort } from './lib/ports';
export {
  createTestDatabase,
  dropDatabase,
  queryDatabase,
  WORKSPACE_ROOT,
  type TestDatabase,
} from './lib/test-database';
export { startS3Server, type TestS3Server } from './lib/s3-server';
export { postgresBinaries, startPostgresCluster, startRedisServer, type OwnedService } from './lib/services';
export { startApp, type RunningProcess } from './lib/apps';
export {
  fireBurst,
  HOSTILE_GRADER_MS,
  LOAD_LIMITS,
  loadBurst,
  prepareTenants,
  probeHealth,
  quantile,
  SPIN_GRADER_RUN,
  startLoadStack,
  type HealthProbe,
  type LoadOutcome,
  type LoadRequest,
  type LoadStack,
  type LoadTenants,
} from './lib/load';
export { MATH_GRADER, mathLine, tinyRlJob, type TinyRlJobOptions } from './lib/jobs';
