import { describe, expect, it } from 'vitest';
import { explainError } from '../../../cli/explain-error';
import { formatTable } from '../../../cli/table';

describe('explainError', () => {
  it('names the service, the unset variable and where the export lines are, for a real AWS host', () => {
    const error = Object.assign(new Error('getaddrinfo ENOTFOUND dynamodb.us-east-1.amazonaws.com'), {
      code: 'ENOTFOUND',
      hostname: 'dynamodb.us-east-1.amazonaws.com',
    });
    expect(explainError(error, {})?.message).toBe(
      'cannot reach DynamoDB at dynamodb.us-east-1.amazonaws.com: AWS_ENDPOINT_URL_DYNAMODB is not set, so the CLI called AWS itself; for the local stack, run `npm start` and paste the `export` lines it prints; for a deployed stack, see docs/deploy.md (ENOTFOUND)',
    );
  });

  it('names the variable that pointed at an endpoint nobody answers', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED'), {
      code: 'ECONNREFUSED',
      address: '127.0.0.1',
      port: 8787,
    });
    const env = {
      AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000',
      AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY: 'http://localhost:8787',
    };
    expect(explainError(error, env)?.message).toMatch(
      /^cannot reach Chime SDK Identity at http:\/\/localhost:8787 \(from AWS_ENDPOINT_URL_CHIME_SDK_IDENTITY\)/,
    );
  });

  it('finds the endpoint inside an AggregateError (a name with several addresses)', () => {
    const member = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}:9324`), {
        code: 'ECONNREFUSED',
        address,
        port: 9324,
      });
    const error = Object.assign(new AggregateError([member('::1'), member('127.0.0.1')]), {
      code: 'ECONNREFUSED',
    });
    expect(explainError(error, { AWS_ENDPOINT_URL_SQS: 'http://localhost:9324' })?.message).toMatch(
      /^cannot reach SQS at http:\/\/localhost:9324 \(from AWS_ENDPOINT_URL_SQS\)/,
    );
  });

  it('explains missing credentials and leaves other errors alone', () => {
    const missing = Object.assign(new Error('Could not load credentials from any providers'), {
      name: 'CredentialsProviderError',
    });
    expect(explainError(missing, {})?.message).toMatch(/^no AWS credentials found .*docs\/deploy\.md$/);
    expect(explainError(new Error('something else'), {})).toBeNull();
    expect(explainError('a string', {})).toBeNull();
  });
});

describe('formatTable', () => {
  it('pads columns to the widest cell, right-aligns numbers, and leaves no trailing spaces', () => {
    expect(
      formatTable(
        ['NAME', 'N', 'NOTE'],
        [
          ['a', '1', ''],
          ['longer', '100', 'x'],
          ['😀', '7', 'y'],
        ],
        { rightAlign: [1] },
      ),
    ).toBe(['NAME      N  NOTE', 'a         1', 'longer  100  x', '😀         7  y'].join('\n'));
  });
});
