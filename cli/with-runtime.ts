import type { StoreRuntime } from '../shared/composition/stores';
import type { Runtime } from '../shared/composition-root';
import type { Config } from '../shared/config';

/**
 * Runs one command's work with a fresh runtime (config from the environment plus flag overrides); see
 * cli/runtime-session.ts.
 *
 * The composition root and its AWS SDK clients are imported here, when the work starts, not when a command
 * module is loaded: a command that stops at a bad flag, and its --help, answer without loading them. (The
 * session module imports the SDK statically: in the bundle, a dynamic import() of a CommonJS package such as
 * the SDK's clients yields only its default export.)
 */
export async function withRuntime<T>(
  work: (runtime: Runtime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  const session = await import('./runtime-session');
  return session.withRuntime(work, overrides);
}

/**
 * The same for commands that need only the stores over DynamoDB (policy list, get, history): it loads the
 * DynamoDB client alone, not the composition root's other SDK clients and Powertools (cli/store-session.ts).
 */
export async function withStores<T>(
  work: (stores: StoreRuntime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  const session = await import('./store-session');
  return session.withStores(work, overrides);
}
