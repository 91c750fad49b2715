/**
 * Two projects: `unit` is pure and fast (synth + logic); `integration` talks to the
 * real local Kafka, Cassandra and S3 started by scripts/local/local-services.ts and runs in band.
 */
const tsJest = ['ts-jest', { diagnostics: false }];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/integration/'],
      setupFilesAfterEnv: ['<rootDir>/test/setup-cdktf.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Real Kafka, Cassandra and MinIO on loopback: started once, stopped at the end.
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
};
