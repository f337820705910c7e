import type { ChildExit } from './dynamodb-local';

/** A child process that ended while the stack was running. */
export interface ChildDeath extends ChildExit {
  readonly name: string;
  readonly pid: number;
}

/** One line: which child, and its exit code or signal. */
export function describeChildDeath(death: ChildDeath): string {
  const how = death.signal ? `killed by ${death.signal}` : `exit code ${death.code}`;
  return `${death.name} (pid ${death.pid}) died (${how})`;
}

/**
 * Watches the child processes the stack cannot run without: `died` resolves with the first that ends while
 * the stack runs. Once the stack stops (`quiet()`), their ends are expected and nothing resolves.
 */
export class ChildWatch {
  readonly died: Promise<ChildDeath>;
  #announce: (death: ChildDeath) => void = () => {};
  #quiet = false;

  constructor() {
    this.died = new Promise((resolve) => {
      this.#announce = resolve;
    });
  }

  watch(child: { readonly name: string; readonly pid: number; readonly exited: Promise<ChildExit> }): void {
    void child.exited.then((exit) => {
      if (!this.#quiet) this.#announce({ name: child.name, pid: child.pid, ...exit });
    });
  }

  quiet(): void {
    this.#quiet = true;
  }
}
