/** Types of bin/cli-build.js (plain JavaScript: it runs before any TypeScript is built). */

export interface CliBuildLocation {
  /** The project folder the sources are read from (default: the one holding bin/). */
  readonly root?: string;
  /** Where the builds and the manifest go (default: node_modules/.cache/chime-lifecycle-cli). */
  readonly cacheDir?: string;
}

export declare const ROOT: string;

export declare function defaultCacheDir(root?: string): string;

/** Node's compile cache for the bundle; emptied when old builds are removed. */
export declare function compileCacheDir(cacheDir?: string): string;

/** The bundle's entry file when it was built from exactly the files there are now, or null. */
export declare function freshEntry(location?: CliBuildLocation): string | null;

export interface CliBuildOptions extends CliBuildLocation {
  /** The module to bundle, relative to root (default cli/main.ts). */
  readonly entry?: string;
  /**
   * A file whose stamp is not older than the build's start by this much is recorded as unknown, so the next
   * start builds again (default 2000 ms: filesystems with coarse timestamps).
   */
  readonly changedDuringBuildMarginMs?: number;
}

/** Bundles the entry, publishes the build in the manifest and returns its entry file. */
export declare function buildCli(options?: CliBuildOptions): Promise<string>;

export declare class CliBuildError extends Error {}
