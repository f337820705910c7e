import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SERVERLESS_FILE } from '../../../local/serverless-settings';
import { effectiveEventSources } from '../../../local/stack';

describe('effectiveEventSources (what the local stack polls with)', () => {
  it("takes batch size, window, concurrency and timeout from serverless.yml's local stage", () => {
    expect(effectiveEventSources()).toEqual({
      'reconcile-tenant': {
        batchSize: 1,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 5,
        concurrency: 5,
        concurrencyFrom: 'serverless.yml',
        timeoutSeconds: 900,
      },
      'onboard-users': {
        batchSize: 200,
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: 2,
        concurrency: 2,
        concurrencyFrom: 'serverless.yml',
        timeoutSeconds: 120,
      },
      'record-activity': {
        batchSize: 100,
        maximumBatchingWindowSeconds: 5,
        maximumConcurrency: 2,
        concurrency: 2,
        concurrencyFrom: 'serverless.yml',
        timeoutSeconds: 30,
      },
    });
  });

  it('lets options.concurrency override a function and leaves the others as deployed', () => {
    const sources = effectiveEventSources({ concurrency: { onboarding: 1 } });
    expect(sources['onboard-users']).toMatchObject({
      batchSize: 200,
      maximumConcurrency: 2,
      concurrency: 1,
      concurrencyFrom: 'options',
    });
    expect(sources['reconcile-tenant']).toMatchObject({ concurrency: 5, concurrencyFrom: 'serverless.yml' });
  });

  it('refuses a serverless.yml whose settings it cannot follow, naming the function and key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'stack-event-sources-'));
    const file = path.join(dir, 'serverless.yml');
    const text = await readFile(DEFAULT_SERVERLESS_FILE, 'utf8');
    await writeFile(
      file,
      text.replace(`batchSize: \${param:onboardingBatchSize}`, `batchSize: \${param:missing}`),
    );
    expect(() => effectiveEventSources({ serverlessFile: file })).toThrow(
      /functions\.onboard-users\.events\[sqs\]\.batchSize: \$\{param:missing\} is not defined/,
    );
  });
});
