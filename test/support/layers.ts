import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layer rules of README's architecture section, checked on the import graph (`npm test` runs
 * test/unit/architecture/layers.test.ts). Paths are repository-relative, without extension.
 */

export type Layer =
  | 'functions'
  | 'declaration'
  | 'composition'
  | 'usecase'
  | 'port'
  | 'contract'
  | 'domain'
  | 'kernel'
  | 'adapter'
  | 'emulator'
  | 'data'
  | 'other';

/** Modules every layer may import: errors, backoff, configuration and queue settings (no I/O, no SDK). */
const KERNEL = new Set(['shared/errors', 'shared/backoff', 'shared/config', 'shared/queue-settings']);
/** The use cases' own port modules, which adapters implement. */
const PORTS = new Set(['shared/sync/ports', 'shared/onboarding/ports']);

export function layerOf(path: string): Layer {
  if (path.startsWith('emulator/')) return 'emulator';
  // infra/: table and queue definitions and the stage parameters, plain data shared with serverless.ts.
  if (path.startsWith('infra/')) return 'data';
  // What a function is (its trigger, settings, IAM), read by serverless.ts and the local stack, never by a
  // handler: the declaration type, each folder's function.ts and the list.
  if (
    path === 'functions/declaration' ||
    path === 'functions/index' ||
    /^functions\/[^/]+\/function$/.test(path)
  ) {
    return 'declaration';
  }
  if (path.startsWith('functions/')) return 'functions';
  // The composition root and the wiring it delegates to (shared/composition/: onboarding, activity).
  if (path === 'shared/composition-root' || path.startsWith('shared/composition/')) return 'composition';
  if (KERNEL.has(path)) return 'kernel';
  if (PORTS.has(path)) return 'port';
  // The contracts room: what more than one use case or adapter shares (events, run, ledger entry, log, ...).
  if (path.startsWith('shared/contracts/')) return 'contract';
  if (path === 'shared/policy' || path.startsWith('shared/policy/')) return 'domain';
  if (['shared/sync/', 'shared/onboarding/', 'shared/activity/'].some((dir) => path.startsWith(dir))) {
    return 'usecase';
  }
  if (path.startsWith('shared/aws/') || path.startsWith('shared/chime/') || path === 'shared/observability') {
    return 'adapter';
  }
  return 'other';
}

/** What each layer may import from the product (npm packages are checked separately). */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  functions: ['composition', 'usecase', 'port', 'contract', 'domain', 'kernel', 'adapter', 'data'],
  declaration: ['declaration', 'kernel', 'data'],
  composition: ['composition', 'usecase', 'port', 'contract', 'domain', 'kernel', 'adapter', 'data'],
  usecase: ['usecase', 'port', 'contract', 'domain', 'kernel', 'data'],
  port: ['port', 'contract', 'domain', 'kernel'],
  contract: ['contract', 'domain', 'kernel'],
  domain: ['domain'],
  kernel: ['kernel', 'data'],
  adapter: ['adapter', 'port', 'contract', 'domain', 'kernel', 'data'],
  emulator: ['emulator'],
  data: [],
  other: [
    'functions',
    'declaration',
    'composition',
    'usecase',
    'port',
    'contract',
    'domain',
    'kernel',
    'adapter',
    'emulator',
    'data',
    'other',
  ],
};

/** npm packages a layer must not import: the SDKs and Powertools belong to adapters and handlers. */
const FORBIDDEN_PACKAGES: Partial<Record<Layer, RegExp>> = {
  usecase: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
  port: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
  contract: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
  domain: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
  kernel: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
  declaration: /^@aws-sdk\/|^@smithy\/|^@aws-lambda-powertools\//,
};

export interface ImportGraph {
  /** module → what it imports: product modules (repo-relative, no extension) and npm packages (`pkg:<name>`). */
  readonly imports: ReadonlyMap<string, readonly string[]>;
}

/** The use case a use-case or port module belongs to (its folder under shared/), else undefined. */
function useCaseOf(path: string): string | undefined {
  const layer = layerOf(path);
  return layer === 'usecase' || layer === 'port' ? path.split('/')[1] : undefined;
}

export function checkLayers(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph.imports) {
    const layer = layerOf(from);
    if (layer === 'other') continue;
    for (const target of targets) {
      if (target.startsWith('pkg:')) {
        const forbidden = FORBIDDEN_PACKAGES[layer];
        if (forbidden?.test(target.slice(4))) problems.push(`${from} (${layer}) imports ${target.slice(4)}`);
        continue;
      }
      const targetLayer = layerOf(target);
      if (!ALLOWED[layer].includes(targetLayer)) {
        problems.push(`${from} (${layer}) imports ${target} (${targetLayer})`);
        continue;
      }
      // A use case owns its ports; what two use cases share is a contract (shared/contracts/), not one
      // use case's module imported by the other.
      const [own, other] = [useCaseOf(from), useCaseOf(target)];
      if (own !== undefined && other !== undefined && own !== other) {
        problems.push(
          `${from} (use case ${own}) imports ${target} of use case ${other}: share it in shared/contracts`,
        );
      }
    }
  }
  return problems.concat(findCycles(graph));
}

/** Import cycles among product modules, each reported once as `a → b → a`. */
export function findCycles(graph: ImportGraph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.imports.get(node) ?? []) {
      if (next.startsWith('pkg:') || !graph.imports.has(next)) continue;
      if (state.get(next) === 'visiting')
        cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.imports.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Reads the import graph of the given folders of the repository. */
export function readImportGraph(root: string, folders: readonly string[]): ImportGraph {
  const imports = new Map<string, string[]>();
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : walk(path);
      return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
    });
  for (const folder of folders) {
    for (const file of walk(join(root, folder))) {
      const from = relative(root, file).replace(/\.ts$/, '');
      const targets: string[] = [];
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const specifier = match[1] ?? match[2] ?? '';
        if (specifier.startsWith('.')) {
          targets.push(relative(root, resolve(dirname(file), specifier)).replace(/\.(ts|js|json)$/, ''));
        } else if (!specifier.startsWith('node:')) {
          const parts = specifier.split('/');
          targets.push(
            `pkg:${specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]}/${parts.slice(specifier.startsWith('@') ? 2 : 1).join('/')}`.replace(
              /\/$/,
              '',
            ),
          );
        }
      }
      imports.set(from, targets);
    }
  }
  return { imports };
}
