import { describe, expect, it } from 'vitest';
import { EmulatorClock } from '../../../emulator/clock';
import { serviceModel } from '../../../emulator/model';
import { ChimeIdentityService, DEFAULT_LIMITS } from '../../../emulator/service';

const model = serviceModel();

describe('generated model table', () => {
  it('has the 30 operations with their routes and success codes', () => {
    expect(Object.keys(model.operations)).toHaveLength(30);
    expect(model.operations.CreateAppInstanceUser).toMatchObject({
      method: 'POST',
      path: '/app-instance-users',
      successCode: 201,
    });
    expect(model.operations.TagResource).toMatchObject({
      path: '/tags',
      staticQuery: { operation: 'tag-resource' },
      successCode: 204,
    });
    expect(model.operations.ListAppInstanceUsers?.paginated).toBe(true);
    expect(model.shapes.ListAppInstanceUsersRequest?.members?.MaxResults).toEqual({
      shape: 'MaxResults',
      location: 'querystring',
      locationName: 'max-results',
    });
  });

  it('is data only: no documentation strings, and every referenced shape is defined', () => {
    expect(JSON.stringify(model)).not.toContain('documentation');
    for (const operation of Object.values(model.operations)) {
      for (const shape of [operation.input, operation.output, ...operation.errors]) {
        if (shape !== undefined) expect(model.shapes[shape], shape).toBeDefined();
      }
    }
    for (const [name, shape] of Object.entries(model.shapes)) {
      for (const member of Object.values(shape.members ?? {}))
        expect(model.shapes[member.shape], name).toBeDefined();
      if (shape.member !== undefined) expect(model.shapes[shape.member], name).toBeDefined();
    }
  });

  it('has a handler for every operation and nothing else', () => {
    const service = new ChimeIdentityService({
      region: 'us-east-1',
      accountId: '111122223333',
      expiryDelaySeconds: 0,
      limits: DEFAULT_LIMITS,
      clock: new EmulatorClock(),
    });
    expect(Object.keys(service.handlers).sort()).toEqual(Object.keys(model.operations).sort());
  });
});
