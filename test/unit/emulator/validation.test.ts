import { describe, expect, it } from 'vitest';
import { serviceModel } from '../../../emulator/model';
import { compilePattern, translatePattern, ValidatorSet } from '../../../emulator/validation';

const model = serviceModel();
const validators = new ValidatorSet(model);

describe('translatePattern', () => {
  it('anchors the pattern as a full match', () => {
    expect(translatePattern('[-_a-zA-Z0-9]*')).toBe('^(?:[-_a-zA-Z0-9]*)$');
    expect(compilePattern('[a-z]+').test('abc1')).toBe(false);
  });

  it('turns Java five- and six-digit \\u escapes into \\u{...} code points', () => {
    const pattern = model.shapes.NonEmptyResourceName?.pattern as string;
    expect(translatePattern(pattern)).toContain('\\u{10000}-\\u{10FFFF}');
    const regex = compilePattern(pattern);
    expect(regex.test('plain name 😀')).toBe(true);
    expect(regex.test('bell\u0007')).toBe(false);
  });

  it('drops escapes that the u flag forbids but keeps their meaning', () => {
    const regex = compilePattern(model.shapes.UserId?.pattern as string);
    for (const ok of ['a', 'a1', 'a:b', 'a-b_c.d@e', 'x'.repeat(64)]) expect(regex.test(ok)).toBe(true);
    for (const bad of ['-a', 'a-', 'a b', 'a/b', '', '\u00e9']) expect(regex.test(bad)).toBe(false);
  });

  it('compiles every pattern in the model', () => {
    for (const shape of Object.values(model.shapes)) {
      if (shape.pattern !== undefined) expect(() => compilePattern(shape.pattern as string)).not.toThrow();
    }
  });
});

describe('ValidatorSet', () => {
  const createUser = validators.forShape('CreateAppInstanceUserRequest');
  const valid = {
    AppInstanceArn: 'arn:aws:chime:us-east-1:111122223333:app-instance/abc',
    AppInstanceUserId: 'user-1',
    Name: 'User',
    ClientRequestToken: 'token-1',
  };

  it('accepts a valid request', () => {
    expect(createUser(valid, '')).toBeUndefined();
  });

  it('reports the first violation with its member path and rule', () => {
    expect(createUser({ ...valid, Name: undefined }, '')).toBe('Name: is required');
    expect(createUser({ ...valid, AppInstanceUserId: 7 }, '')).toBe('AppInstanceUserId: must be a string');
    expect(
      createUser(
        { ...valid, ExpirationSettings: { ExpirationDays: 1.5, ExpirationCriterion: 'CREATED_TIMESTAMP' } },
        '',
      ),
    ).toBe('ExpirationSettings.ExpirationDays: must be an integer');
    expect(createUser({ ...valid, ExpirationSettings: [] }, '')).toBe(
      'ExpirationSettings: must be a structure (JSON object)',
    );
    expect(createUser({ ...valid, Tags: [{ Key: '', Value: 'v' }] }, '')).toBe(
      'Tags[0].Key: length must be between 1 and 128 characters',
    );
    expect(createUser({ ...valid, Tags: [null] }, '')).toBe('Tags[0]: must not be null');
    expect(createUser({ ...valid, Tags: 'a' }, '')).toBe('Tags: must be a list');
  });

  it('counts string length in code points', () => {
    expect(createUser({ ...valid, Name: '😀'.repeat(100) }, '')).toBeUndefined();
    expect(createUser({ ...valid, Name: '😀'.repeat(101) }, '')).toBe(
      'Name: length must be between 1 and 100 characters',
    );
  });

  it('ignores members the model does not know', () => {
    expect(createUser({ ...valid, Extra: { anything: true } }, '')).toBeUndefined();
  });
});
