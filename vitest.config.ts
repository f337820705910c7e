import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Fast unit tests first, then the integration tests with their servers.
          sequence: { groupOrder: 0 },
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          environment: 'node',
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Integration tests share one DynamoDB Local and use unique table prefixes per file;
          // the machine has 2 cores, so two forks keep the JVM and the servers responsive.
          maxWorkers: 2,
        },
      },
    ],
  },
});
