/**
 * The operation table: every operation of the model, by resource, each typed by its own request and response.
 * The mapped type makes a model operation without an implementation (or one the model lacks) a compile error.
 */
import type { IdentityStore } from '../store';
import { ADMIN_OPERATIONS } from './admins';
import { APP_INSTANCE_OPERATIONS } from './app-instances';
import { BOT_OPERATIONS } from './bots';
import type { Operations } from './common';
import { ENDPOINT_OPERATIONS } from './endpoints';
import { TAG_OPERATIONS } from './tags';
import type { OperationHandler, OperationName } from './types';
import { USER_OPERATIONS } from './users';

export const OPERATIONS: Operations<OperationName> = {
  ...APP_INSTANCE_OPERATIONS,
  ...USER_OPERATIONS,
  ...ADMIN_OPERATIONS,
  ...BOT_OPERATIONS,
  ...ENDPOINT_OPERATIONS,
  ...TAG_OPERATIONS,
};

/**
 * The table bound to a store, as the HTTP front calls it: by operation name, with the request as bound from
 * path, query and body. The front validates every request against the model's input shape first
 * (validation.ts), which is exactly what each implementation's input type assumes: that is the one place
 * the untyped request becomes a typed one.
 */
export function bindOperations(store: IdentityStore): Record<string, OperationHandler> {
  const handlers: Record<string, OperationHandler> = {};
  for (const [name, operation] of Object.entries(OPERATIONS)) {
    handlers[name] = (input) =>
      (operation as (store: IdentityStore, input: unknown) => ReturnType<OperationHandler>)(store, input);
  }
  return handlers;
}
