import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChimeEmulator } from '../emulator';
import { type PolicyStore, storePolicyDocument } from '../shared/aws/policy-store';
import { DAY_MS } from '../shared/policy';

const EXAMPLES = path.join(import.meta.dirname, '..', 'examples', 'policies');

interface DemoUser {
  appInstanceUserId: string;
  name: string;
  metadata?: string;
  createdAt: string;
  expirationDays?: number;
}

/** A deterministic pseudo-random sequence, so every `npm start` shows the same demo. */
function sequence(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 2 ** 32;
  };
}

function population(tenantId: string, now: number): DemoUser[] {
  const random = sequence([...tenantId].reduce((sum, char) => sum + char.charCodeAt(0), 0));
  const users: DemoUser[] = [];
  const add = (id: string, ageDays: number, extra: Partial<DemoUser> = {}) =>
    users.push({
      appInstanceUserId: id,
      name: `Demo ${id}`,
      createdAt: new Date(now - ageDays * DAY_MS).toISOString(),
      ...extra,
    });
  const maybeDays = () => (random() < 0.5 ? {} : { expirationDays: 1 + Math.floor(random() * 400) });
  if (tenantId === 'acme') {
    for (let i = 1; i <= 60; i++) add(`guest-${String(i).padStart(3, '0')}`, random() * 12, maybeDays());
    for (let i = 1; i <= 25; i++)
      add(`user-t${i}`, random() * 40, {
        metadata: JSON.stringify({ plan: i % 2 ? 'trial' : 'poc' }),
        ...maybeDays(),
      });
    for (let i = 1; i <= 30; i++) add(`emp-${1000 + i}`, random() * 900, maybeDays());
    for (let i = 1; i <= 5; i++) add(`svc-bridge-${i}`, 300, { expirationDays: 400 });
    for (let i = 1; i <= 30; i++) add(`user-${i}`, random() * 200, maybeDays());
  } else if (tenantId === 'globex') {
    for (let i = 1; i <= 80; i++) add(`visitor-${i}`, random() * 3);
    for (let i = 1; i <= 20; i++)
      add(`agent-${i}`, random() * 500, { metadata: JSON.stringify({ role: 'agent' }), ...maybeDays() });
    for (let i = 1; i <= 40; i++) add(`customer-${i}`, random() * 120, maybeDays());
  } else {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'])
      add(`c-${name}`, random() * 200, maybeDays());
    for (let i = 1; i <= 3; i++) add(`svc-build-${i}`, 50, { expirationDays: 100 });
    for (let i = 1; i <= 40; i++) add(`staff-${i}`, random() * 700, maybeDays());
  }
  return users;
}

export const DEMO_TENANTS = ['acme', 'globex', 'initech'] as const;

export interface DemoTenant {
  readonly tenantId: string;
  readonly appInstanceArn: string;
  readonly users: number;
  /** The stored policy document (examples/policies/<tenant>.json as it is), for the operator to edit. */
  readonly document: Record<string, unknown>;
}

/** Where the demo's policies come from, and where the README points: examples/policies/<tenant>.json. */
export function examplePolicyFile(tenantId: string): string {
  return path.join(EXAMPLES, `${tenantId}.json`);
}

/**
 * Seeds one AppInstance per demo tenant into the emulator, under the ARN its example policy names (the
 * emulator creates it there, in the ARN's Region: Chime SDK Identity runs in us-east-1 and eu-central-1, and
 * one deployment manages both, so initech, a European customer, has its AppInstance in Frankfurt), and stores examples/policies/<tenant>.json as it is: so the examples work
 * against the demo as written (`plan --policy examples/policies/acme.json`, `policy put` of them). Storing
 * the policies fires the policy stream, so the offline system reconciles every tenant as soon as it is up.
 */
export async function seedDemo(emulator: ChimeEmulator, policies: PolicyStore): Promise<DemoTenant[]> {
  const now = emulator.now().getTime();
  const tenants: DemoTenant[] = [];
  for (const tenantId of DEMO_TENANTS) {
    const document = JSON.parse(await readFile(examplePolicyFile(tenantId), 'utf8')) as Record<
      string,
      unknown
    >;
    const users = population(tenantId, now);
    const { appInstanceArn } = emulator.seed({
      appInstanceArn: String(document.appInstanceArn),
      appInstanceName: `${tenantId} demo`,
      users,
    });
    await storePolicyDocument(policies, document);
    tenants.push({ tenantId, appInstanceArn, users: users.length, document });
  }
  return tenants;
}
