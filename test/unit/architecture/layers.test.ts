import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayers, readImportGraph } from '../../support/layers';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

describe('layers (README, Architecture)', () => {
  it('the product keeps them: functions → use cases → domain, adapters → ports and domain, emulator alone, no cycles', () => {
    const graph = readImportGraph(ROOT, ['functions', 'shared', 'emulator']);
    expect(graph.imports.size).toBeGreaterThan(50);
    expect(checkLayers(graph)).toEqual([]);
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
