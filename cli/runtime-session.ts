import { Runtime } from '../shared/composition-root';
import { type Config, loadConfig } from '../shared/config';
import { runWith } from './store-session';

/**
 * Runs one command's work with a fresh runtime (config from the environment plus flag overrides). Imported
 * through cli/with-runtime.ts when the work starts.
 */
export async function withRuntime<T>(
  work: (runtime: Runtime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  return runWith(new Runtime(loadConfig(process.env, overrides)), work);
}
