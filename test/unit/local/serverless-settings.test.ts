import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerlessSettings, parseServerlessSettings } from '../../../local/serverless-settings';

/** A serverless.yml with one SQS-triggered function whose event is `sqs` (indented under `- sqs:`). */
function withFunction(sqs: string, extra = { functionLines: 'timeout: 60', params: '' }): string {
  return `
service: fixture
params:
  default:
    batch: 100
    window: '2'
    concurrency: 3
${extra.params}
provider:
  name: aws
functions:
  consume:
    handler: handler.handler
    ${extra.functionLines}
    events:
      - sqs:
          arn: !GetAtt Queue.Arn
${sqs
  .trim()
  .split('\n')
  .map((line) => `          ${line.trim()}`)
  .join('\n')}
resources:
  Conditions:
    HasTopic: !Not [!Equals [!Ref Topic, '']]
  Resources:
    Queue:
      Type: AWS::SQS::Queue
      Properties:
        QueueName: !Sub '\${AWS::StackName}-queue'
        Tags: !If [HasTopic, [{ Key: a, Value: !Join ['-', [x, !Ref Topic]] }], !Ref AWS::NoValue]
`;
}

describe('loadServerlessSettings (the real serverless.yml)', () => {
  const settings = loadServerlessSettings();

  it('gives every SQS-triggered function its deployed batch, window, concurrency and timeout', () => {
    expect(settings.sqsEventSources()).toEqual({
      'reconcile-tenant': {
        batchSize: 1,
        maximumBatchingWindowSeconds: 0,
        maximumConcurrency: 5,
        timeoutSeconds: 900,
      },
      'onboard-users': {
        batchSize: 200,
        maximumBatchingWindowSeconds: 1,
        maximumConcurrency: 2,
        timeoutSeconds: 120,
      },
      'record-activity': {
        batchSize: 100,
        maximumBatchingWindowSeconds: 5,
        maximumConcurrency: 2,
        timeoutSeconds: 30,
      },
    });
  });

  it('resolves params from params.default with the local stage on top', () => {
    const params = settings.params();
    expect(params.onboardingBatchSize).toBe(200);
    expect(params.reconcileConcurrency).toBe(5);
    expect(params.scheduleEnabled).toBe('false');
    expect(loadServerlessSettings({ stage: 'dev' }).params().scheduleEnabled).toBe('true');
    expect(loadServerlessSettings({ stage: 'prod' }).params().tableDeletionPolicy).toBe('Retain');
  });

  it('names the functions that have an sqs event when asked for one that has none', () => {
    expect(() => settings.sqsEventSource('schedule-sync')).toThrow(
      /function schedule-sync has no sqs event \(functions with one: reconcile-tenant, onboard-users, record-activity\)/,
    );
  });
});

describe('parseServerlessSettings', () => {
  it(`resolves \${param:…} and plain values, with CloudFormation intrinsics in the file`, () => {
    const settings = parseServerlessSettings(
      withFunction(`
        batchSize: \${param:batch}
        maximumBatchingWindow: \${param:window}
        maximumConcurrency: \${param:concurrency}
      `),
    );
    expect(settings.sqsEventSource('consume')).toEqual({
      batchSize: 100,
      maximumBatchingWindowSeconds: 2,
      maximumConcurrency: 3,
      timeoutSeconds: 60,
    });
  });

  it("lets the stage's params win over params.default", () => {
    const text = withFunction(
      `
        batchSize: 5
        maximumConcurrency: \${param:concurrency}
      `,
      { functionLines: 'timeout: 60', params: '  local:\n    concurrency: 7' },
    );
    expect(parseServerlessSettings(text).sqsEventSource('consume').maximumConcurrency).toBe(7);
    expect(parseServerlessSettings(text, { stage: 'dev' }).sqsEventSource('consume').maximumConcurrency).toBe(
      3,
    );
  });

  it("uses a param reference's fallback only when the param is not defined", () => {
    const settings = parseServerlessSettings(
      withFunction(`
        batchSize: \${param:undefinedBatch, '4'}
        maximumConcurrency: \${param:concurrency, 9}
      `),
    );
    expect(settings.sqsEventSource('consume')).toMatchObject({ batchSize: 4, maximumConcurrency: 3 });
  });

  it('takes the timeout from the provider when the function has none', () => {
    const text = withFunction('batchSize: 1\nmaximumConcurrency: 2', {
      functionLines: 'description: no timeout',
      params: '',
    }).replace('  name: aws', '  name: aws\n  timeout: 20');
    expect(parseServerlessSettings(text).sqsEventSource('consume').timeoutSeconds).toBe(20);
  });

  it('names the function and key of an undefined param', () => {
    expect(() =>
      parseServerlessSettings(withFunction(`batchSize: \${param:nope}\nmaximumConcurrency: 2`), {
        source: 'fixture.yml',
      }),
    ).toThrow(
      `fixture.yml: functions.consume.events[sqs].batchSize: \${param:nope} is not defined in params.default or params.local; add it there`,
    );
  });

  it('refuses variables it cannot resolve instead of guessing', () => {
    expect(() =>
      parseServerlessSettings(withFunction(`batchSize: \${env:BATCH, '10'}\nmaximumConcurrency: 2`)),
    ).toThrow(/functions\.consume\.events\[sqs\]\.batchSize: \$\{env:BATCH, '10'\} cannot be resolved here/);
    const viaParam = withFunction(`batchSize: 1\nmaximumConcurrency: \${param:fromEnv}`, {
      functionLines: 'timeout: 60',
      params: `  local:\n    fromEnv: \${env:CONCURRENCY, '2'}`,
    });
    expect(() => parseServerlessSettings(viaParam)).toThrow(
      /maximumConcurrency: \$\{param:fromEnv\} resolves to \$\{env:CONCURRENCY, '2'\}, which cannot be resolved/,
    );
  });

  it('names the function and key of a value out of Lambda range', () => {
    expect(() =>
      parseServerlessSettings(
        withFunction('batchSize: 10001\nmaximumBatchingWindow: 1\nmaximumConcurrency: 2'),
      ),
    ).toThrow(/functions\.consume\.events\[sqs\]\.batchSize: must be an integer from 1 to 10000, got 10001/);
    expect(() => parseServerlessSettings(withFunction('batchSize: 1\nmaximumConcurrency: 1'))).toThrow(
      /maximumConcurrency: must be an integer from 2 to 1000, got 1/,
    );
    expect(() => parseServerlessSettings(withFunction("batchSize: 1\nmaximumConcurrency: 'two'"))).toThrow(
      /maximumConcurrency: must be an integer from 2 to 1000, got two/,
    );
  });

  it('refuses a batch above 10 without a batching window, as Lambda does', () => {
    expect(() => parseServerlessSettings(withFunction('batchSize: 11\nmaximumConcurrency: 2'))).toThrow(
      /functions\.consume\.events\[sqs\]: batchSize 11 needs maximumBatchingWindow of at least 1 s/,
    );
  });

  it('names the missing setting', () => {
    expect(() => parseServerlessSettings(withFunction('maximumConcurrency: 2'))).toThrow(
      /functions\.consume\.events\[sqs\]: batchSize is missing/,
    );
    expect(() => parseServerlessSettings(withFunction('batchSize: 1'))).toThrow(
      /functions\.consume\.events\[sqs\]: maximumConcurrency is missing/,
    );
    expect(() =>
      parseServerlessSettings(
        withFunction('batchSize: 1\nmaximumConcurrency: 2', { functionLines: 'description: x', params: '' }),
      ),
    ).toThrow(/functions\.consume: timeout is missing/);
  });

  it('says which file is not valid YAML', () => {
    expect(() => parseServerlessSettings('functions: [unclosed', { source: 'broken.yml' })).toThrow(
      /^broken\.yml is not valid YAML/,
    );
  });

  it('reads the file it is given', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'serverless-settings-'));
    const file = path.join(dir, 'serverless.yml');
    await writeFile(file, withFunction('batchSize: 3\nmaximumConcurrency: 2'));
    expect(loadServerlessSettings({ path: file }).sqsEventSource('consume').batchSize).toBe(3);
    expect(() => loadServerlessSettings({ path: path.join(dir, 'missing.yml') })).toThrow(
      /cannot read .*missing\.yml/,
    );
  });
});
