import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bannerLines } from '../../../local/banner';
import { environmentFor } from '../../../local/environment';
import { stackWiring } from '../../../local/stack';
import { type Config, DEFAULTS, ENV, loadConfig, settingText } from '../../../shared/config';

/**
 * Issue 21: configuration names and values agree between the code (shared/config.ts, the one list of
 * variables), README's configuration table and the `export` lines of `npm start`'s banner. Everything is
 * derived from ENV and DEFAULTS: a variable added to the code and not to the README fails here.
 */

const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const ENDPOINTS = {
  dynamodb: 'http://127.0.0.1:1',
  sqs: 'http://127.0.0.1:2',
  chime: 'http://127.0.0.1:3',
  eventbridge: 'http://127.0.0.1:4',
  sts: 'http://127.0.0.1:6',
};

/** The rows of README's "Configuration" table: variable and default, as written. */
function readmeTable(): Map<string, string> {
  const section = README.slice(
    README.indexOf('## Configuration'),
    README.indexOf('\n## ', README.indexOf('## Configuration') + 1),
  );
  const rows = new Map<string, string>();
  for (const [, name, value] of section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| `([^`]*)` \|/gm)) {
    expect(rows.has(name as string), `${name} is in the table twice`).toBe(false);
    rows.set(name as string, value as string);
  }
  return rows;
}

/** What `npm start` prints after "point the CLI at it", parsed as a shell would read the export lines. */
function bannerExports(config: Config): Record<string, string> {
  const lines = bannerLines({
    stack: {
      endpoints: ENDPOINTS,
      functions: 'in-process',
      wiring: stackWiring(),
      summary: [],
      restored: false,
      resumedRuns: [],
      environment: environmentFor(config, ENDPOINTS),
      policyFiles: [],
    },
    lambdaPort: 5,
    persist: false,
    stateDir: '/tmp/state',
    cwd: ROOT,
  });
  const exported: Record<string, string> = {};
  for (const line of lines) {
    const match = /^ {2}export (.+)$/.exec(line);
    if (!match) continue;
    for (const assignment of (match[1] as string).split(' ')) {
      const [key, ...value] = assignment.split('=');
      exported[key as string] = value.join('=');
    }
  }
  return exported;
}

/** Every CHIME_LIFECYCLE_* name the product's own sources mention. */
function namesInSources(): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const file = path.join(dir, entry);
      if (statSync(file).isDirectory()) visit(file);
      else if (/\.(ts|js)$/.test(entry)) {
        for (const [name] of readFileSync(file, 'utf8').matchAll(/CHIME_LIFECYCLE_[A-Z0-9_]+/g))
          names.add(name);
      }
    }
  };
  for (const dir of ['bin', 'cli', 'functions', 'local', 'shared']) visit(path.join(ROOT, dir));
  return names;
}

const keys = Object.keys(ENV) as (keyof Config)[];

describe('configuration: code, README and banner agree', () => {
  it("README's table lists every variable of shared/config.ts with its default, and nothing else", () => {
    const table = readmeTable();
    expect([...table.keys()].sort()).toEqual(keys.map((key) => ENV[key]).sort());
    for (const key of keys) {
      expect(table.get(ENV[key]), ENV[key]).toBe(settingText(DEFAULTS[key]));
      // The value as documented reads back as the default.
      expect(loadConfig({ [ENV[key]]: table.get(ENV[key]) })[key], ENV[key]).toEqual(DEFAULTS[key]);
    }
  });

  it.each([
    ['the defaults', loadConfig({})],
    [
      'settings changed from their defaults',
      loadConfig({
        CHIME_LIFECYCLE_QUOTA_COORDINATION: 'off',
        CHIME_LIFECYCLE_QUOTA_SCALE: '20',
        CHIME_LIFECYCLE_EVENT_BUS: 'other-bus',
        AWS_REGION: 'eu-central-1',
      }),
    ],
  ])("the banner's exports name every variable and read back as the same configuration: %s", (_, config) => {
    const exported = bannerExports(config);
    for (const key of keys) expect(exported, ENV[key]).toHaveProperty(ENV[key]);
    const configured = Object.keys(exported).filter((name) => name.startsWith('CHIME_LIFECYCLE_'));
    expect(configured.sort()).toEqual(
      keys
        .map((key) => ENV[key])
        .filter((name) => name !== 'AWS_REGION')
        .sort(),
    );
    // What a shell gets from those lines is the configuration the stack runs with: switches spelled on/off.
    expect(loadConfig(exported)).toEqual(config);
    expect(exported.CHIME_LIFECYCLE_QUOTA_COORDINATION).toBe(config.quotaCoordination ? 'on' : 'off');
  });

  it('every CHIME_LIFECYCLE_* variable the sources read is a configuration variable or documented in README', () => {
    const configured = new Set(keys.map((key) => ENV[key]));
    const others = [...namesInSources()].filter((name) => !configured.has(name));
    // CHIME_LIFECYCLE_DEBUG is the CLI's own (`--debug`), not a setting of the functions.
    expect(others).toEqual(['CHIME_LIFECYCLE_DEBUG']);
    for (const name of others) expect(README).toContain(name);
  });
});
