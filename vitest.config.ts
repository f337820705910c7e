import { defineConfig } from 'vitest/config';

/**
 * Tests are quiet unless they fail. Handlers run in-process log through Powertools, whose logger writes to
 * its own Console on process.stdout (raw JSON lines between the test results) unless it is in development
 * mode: then it writes through `console`, which Vitest captures per test, and `silent: 'passed-only'`
 * prints a test's log lines only when that test fails. Development mode also keeps Powertools metrics off,
 * as POWERTOOLS_METRICS_DISABLED does. A test that reads the logs themselves sets its own environment.
 */
const env = { POWERTOOLS_DEV: 'true' };

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    silent: 'passed-only',
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Fast unit tests first, then the integration tests with their servers.
          sequence: { groupOrder: 0 },
          environment: 'node',
          env,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          sequence: { groupOrder: 1 },
          environment: 'node',
          env,
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
