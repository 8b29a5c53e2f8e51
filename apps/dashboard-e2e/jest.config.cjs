// Browser tests of the dashboard: the real api (fresh database, local Redis) serving the built dashboard, driven by
// Debian's chromium through playwright-core. `nx test dashboard-e2e` builds the dashboard first (project.json).
module.exports = {
  displayName: 'dashboard-e2e',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  transform: { '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/test/**/*.e2e.spec.ts'],
  testTimeout: 60_000,
  coverageDirectory: '../../coverage/apps/dashboard-e2e',
};
