import { Runtime } from '../shared/composition-root';
import { type Config, loadConfig } from '../shared/config';

/** Runs one command's work with a fresh runtime (config from the environment plus flag overrides). */
export async function withRuntime<T>(
  work: (runtime: Runtime) => Promise<T>,
  overrides: Partial<Config> = {},
): Promise<T> {
  const runtime = new Runtime(loadConfig(process.env, overrides));
  try {
    return await work(runtime);
  } finally {
    runtime.destroy();
  }
}
