import { describe, expect, it } from 'vitest';
import { parseArn } from '../../../emulator/arn';

const APP = 'arn:aws:chime:us-east-1:111122223333:app-instance/abc-123';

describe('parseArn', () => {
  it('parses AppInstance, user and bot ARNs', () => {
    expect(parseArn(APP)).toEqual({
      partition: 'aws',
      service: 'chime',
      region: 'us-east-1',
      account: '111122223333',
      kind: 'app-instance',
      appInstanceArn: APP,
      id: 'abc-123',
    });
    expect(parseArn(`${APP}/user/tenant:alice@example.com`)).toMatchObject({
      kind: 'user',
      appInstanceArn: APP,
      id: 'tenant:alice@example.com',
    });
    expect(parseArn(`${APP}/bot/b1`)).toMatchObject({ kind: 'bot', appInstanceArn: APP, id: 'b1' });
  });

  it('rejects anything that is not one of those resources', () => {
    for (const arn of [
      'arn:aws:chime:us-east-1:111122223333',
      'arn:aws:chime:us-east-1:111122223333:channel/x',
      'arn:aws:chime:us-east-1:111122223333:app-instance/',
      `${APP}/user/`,
      `${APP}/user`,
      `${APP}/channel/x`,
      `${APP}/user/a/b`,
      'nope:aws:chime:us-east-1:1:app-instance/x',
    ]) {
      expect(parseArn(arn), arn).toBeUndefined();
    }
  });
});
