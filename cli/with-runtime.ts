import { Runtime } from '../shared/composition-root';

/** Runs one command's work with a fresh runtime and always releases its sockets. */
export async function withRuntime<T>(work: (runtime: Runtime) => Promise<T>): Promise<T> {
  const runtime = new Runtime();
  try {
    return await work(runtime);
  } finally {
    runtime.destroy();
  }
}
