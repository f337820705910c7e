import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayers, layerOf, readImportGraph } from '../../support/layers';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('layers (README, Architecture)', () => {
  it('the product keeps them: functions → use cases → contracts → domain, adapters → ports and contracts, emulator alone, no cycles', () => {
    const graph = readImportGraph(ROOT, ['functions', 'shared', 'emulator']);
    expect(graph.imports.size).toBeGreaterThan(50);
    expect(checkLayers(graph)).toEqual([]);
  });

  it('what use cases and adapters share is in the contracts room: each contract has several importers, and no product module outside the sync reaches into it for a type', () => {
    const graph = readImportGraph(ROOT, ['functions', 'shared']);
    const contracts = [...graph.imports.keys()].filter((module) => layerOf(module) === 'contract');
    expect(contracts.length).toBeGreaterThanOrEqual(6);
    const importers = (module: string) =>
      [...graph.imports].filter(([, targets]) => targets.includes(module)).map(([from]) => from);
    for (const module of contracts) expect(importers(module).length, module).toBeGreaterThanOrEqual(2);
    // Only the sync's own ports are implemented by adapters; handlers and the composition root call its
    // use cases. Nothing else of the product imports shared/sync/.
    const reachingIn = [...graph.imports]
      .filter(([from]) => !from.startsWith('shared/sync/'))
      .filter(([from]) => !['functions', 'composition', 'other'].includes(layerOf(from)))
      .flatMap(([from, targets]) =>
        targets
          .filter((target) => target.startsWith('shared/sync/') && target !== 'shared/sync/ports')
          .map((target) => `${from} → ${target}`),
      );
    expect(reachingIn).toEqual([]);
  });

  it.each([
    [
      'a use case importing an adapter',
      'shared/sync/plan',
      'shared/aws/ledger',
      /usecase\) imports shared\/aws\/ledger/,
    ],
    [
      'a use case importing the SDK',
      'shared/onboarding/retry',
      'pkg:@aws-sdk/client-chime-sdk-identity',
      /imports @aws-sdk/,
    ],
    [
      'the domain importing a use case',
      'shared/policy/engine',
      'shared/sync/ports',
      /domain\) imports shared\/sync\/ports/,
    ],
    [
      'an adapter importing a use case',
      'shared/aws/runs',
      'shared/sync/reconcile-step',
      /adapter\) imports shared\/sync\/reconcile-step/,
    ],
    [
      'the emulator importing the product',
      'emulator/server',
      'shared/policy/index',
      /emulator\) imports shared\/policy/,
    ],
    [
      'a use case importing the composition root',
      'shared/sync/plan',
      'shared/composition-root',
      /usecase\) imports shared\/composition-root/,
    ],
    [
      'a use case importing the wiring in shared/composition/',
      'shared/onboarding/onboard-request',
      'shared/composition/onboarding',
      /usecase\) imports shared\/composition\/onboarding \(composition\)/,
    ],
    [
      'a handler importing a declaration',
      'functions/onboard-users/handler',
      'functions/onboard-users/function',
      /functions\) imports functions\/onboard-users\/function \(declaration\)/,
    ],
    [
      'a declaration importing an adapter',
      'functions/onboard-users/function',
      'shared/aws/ledger',
      /declaration\) imports shared\/aws\/ledger \(adapter\)/,
    ],
    [
      "a use case importing another use case's ports for a shared type",
      'shared/onboarding/onboard-request',
      'shared/sync/ports',
      /use case onboarding\) imports shared\/sync\/ports of use case sync: share it in shared\/contracts/,
    ],
    [
      'a contract importing a use case',
      'shared/contracts/run',
      'shared/sync/reconcile-step',
      /contract\) imports shared\/sync\/reconcile-step \(usecase\)/,
    ],
    [
      'a contract importing an adapter',
      'shared/contracts/lifecycle-events',
      'shared/aws/events',
      /contract\) imports shared\/aws\/events \(adapter\)/,
    ],
    [
      'a contract importing the SDK',
      'shared/contracts/ledger',
      'pkg:@aws-sdk/lib-dynamodb',
      /contract\) imports @aws-sdk\/lib-dynamodb/,
    ],
  ])('fails on a deliberate bad import: %s', (_what, from, to, expected) => {
    const graph = { imports: new Map([[from, [to]]]) };
    expect(checkLayers(graph).join('\n')).toMatch(expected);
  });

  it('fails on an import cycle', () => {
    const graph = {
      imports: new Map([
        ['shared/sync/a', ['shared/sync/b']],
        ['shared/sync/b', ['shared/sync/a']],
      ]),
    };
    expect(checkLayers(graph)).toEqual(['shared/sync/a → shared/sync/b → shared/sync/a']);
  });
});
