export { freePort } from './lib/ports';
export {
  createTestDatabase,
  dropDatabase,
  queryDatabase,
  WORKSPACE_ROOT,
  type TestDatabase,
} from './lib/test-database';
