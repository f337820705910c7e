/**
 * The checks a saved state passes before anything of it is restored (persistence.ts): every field the file
 * holds is held to the API model's own rules, with the validators the requests go through (validation.ts),
 * and to what the emulator itself would have written: ARNs of the aws partition, a Region and an account, user ids unique per
 * AppInstance, admins of that AppInstance, timestamps between 1970 and the emulator's now, a clock offset
 * that keeps the clock a valid date, and no field the format does not have. The first problem found is
 * returned as `<JSON path in the file>: <rule>`; the value itself is never quoted (it may be a user's name).
 */
import { EARLIEST_MS, LATEST_MS } from './admin';
import { parseArn } from './arn';
import { serviceModel } from './model';
import type { ServiceModel } from './model/types';
import { type Validator, ValidatorSet } from './validation';

export const STATE_FORMAT = 'chime-sdk-identity-emulator-state';
export const STATE_VERSION = 1;

export interface StateCheckContext {
  readonly region: string;
  readonly accountId: string;
  /** Real time now (epoch ms); the emulator's now is this plus the file's clock offset. */
  readonly nowMs: number;
}

type Problem = string | undefined;
type Json = Record<string, unknown>;

const RANGE = `${new Date(EARLIEST_MS).toISOString()} and ${new Date(LATEST_MS).toISOString()}`;
const REGION = /^[a-z]{2,}(?:-[a-z]+)*-[0-9]+$/;
const ACCOUNT = /^[0-9]{12}$/;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * An unknown key as an error names it: as it is when it is a plain identifier, otherwise not at all (it came
 * from a hand-edited file and may hold anything, terminal control sequences included).
 */
function keyName(key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$-]{0,39}$/.test(key) ? `"${key}"` : 'a key that is not a plain name';
}

/** The first problem among lazily evaluated checks. */
function first(...checks: (() => Problem)[]): Problem {
  for (const check of checks) {
    const problem = check();
    if (problem) return problem;
  }
  return undefined;
}

/** An object with only the given keys, the required ones present. */
function keysProblem(
  value: unknown,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): Problem {
  if (!isObject(value)) return `${path}: must be an object`;
  const allowed = new Set([...required, ...optional]);
  for (const key of Object.keys(value)) {
    if (!allowed.has(key)) return `${path}: has a field the state format does not have (${keyName(key)})`;
  }
  for (const key of required) {
    if (value[key] === undefined || value[key] === null) return `${path}.${key}: is required`;
  }
  return undefined;
}

function listProblem(value: unknown, path: string, each: (item: unknown, at: string) => Problem): Problem {
  if (!Array.isArray(value)) return `${path}: must be a list`;
  for (let i = 0; i < value.length; i++) {
    const problem = each(value[i], `${path}[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}

/** Checks one parsed state file; see the module comment. */
export function stateProblem(state: unknown, context: StateCheckContext): Problem {
  return new StateChecker(serviceModel(), context).state(state);
}

class StateChecker {
  private readonly validators: ValidatorSet;
  private emulatorNow = 0;

  constructor(
    private readonly model: ServiceModel,
    private readonly context: StateCheckContext,
  ) {
    this.validators = new ValidatorSet(model);
  }

  /** The model's rules for a shape, plus no member the shape does not have (the validators ignore extras). */
  private shape(name: string, value: unknown, path: string): Problem {
    return this.validators.forShape(name)(value, path) ?? this.unknownMember(name, value, path);
  }

  private unknownMember(name: string, value: unknown, path: string): Problem {
    const shape = this.model.shapes[name];
    if (shape?.type === 'list' && Array.isArray(value)) {
      return listProblem(value, path, (item, at) => this.unknownMember(shape.member as string, item, at));
    }
    if (shape?.type !== 'structure' || !isObject(value)) return undefined;
    for (const [key, member] of Object.entries(value)) {
      const declared = shape.members?.[key];
      if (!declared) return `${path}: has a member the API model does not have (${keyName(key)})`;
      const problem = this.unknownMember(declared.shape, member, `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }

  private validator(name: string): Validator {
    return (value, path) => this.shape(name, value, path);
  }

  state(state: unknown): Problem {
    if (!isObject(state)) return '(file): must be a JSON object';
    if (state.format !== STATE_FORMAT) return `format: must be ${STATE_FORMAT}`;
    if (state.version !== STATE_VERSION) return `version: must be ${STATE_VERSION}`;
    return first(
      () => keysProblem(state, '(file)', ['format', 'version', 'savedAt', 'clockOffsetMs', 'service']),
      () => this.clock(state.clockOffsetMs),
      () => this.savedAt(state.savedAt),
      () => keysProblem(state.service, 'service', ['appInstances', 'idempotencyTokens']),
      () => this.appInstances((state.service as Json).appInstances),
      () =>
        listProblem((state.service as Json).idempotencyTokens, 'service.idempotencyTokens', (item, at) =>
          this.idempotencyToken(item, at),
        ),
    );
  }

  private clock(offset: unknown): Problem {
    const now = this.context.nowMs;
    if (typeof offset !== 'number' || !Number.isInteger(offset)) return 'clockOffsetMs: must be an integer';
    if (now + offset < EARLIEST_MS || now + offset > LATEST_MS) {
      return `clockOffsetMs: must keep the emulator clock between ${RANGE} (from ${EARLIEST_MS - now} to ${LATEST_MS - now} now)`;
    }
    this.emulatorNow = now + offset;
    return undefined;
  }

  private savedAt(value: unknown): Problem {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms) || ms < EARLIEST_MS || ms > this.context.nowMs) {
      return 'savedAt: must be an ISO 8601 date-time no later than now';
    }
    return undefined;
  }

  /** A timestamp the emulator could have written: an integer from 1970 up to the emulator's now. */
  private time(value: unknown, path: string, notBefore = EARLIEST_MS): Problem {
    if (typeof value !== 'number' || !Number.isInteger(value))
      return `${path}: must be an integer (epoch ms)`;
    if (value < notBefore || value > this.emulatorNow) {
      return `${path}: must be between ${new Date(notBefore).toISOString()} and the emulator's now (${new Date(this.emulatorNow).toISOString()})`;
    }
    return undefined;
  }

  /** createdMs and updatedMs of a record: both sane, the update not before the creation. */
  private times(record: Json, path: string): Problem {
    return (
      this.time(record.createdMs, `${path}.createdMs`) ??
      this.time(record.updatedMs, `${path}.updatedMs`, record.createdMs as number)
    );
  }

  /** A resource ARN the emulator could have made (aws partition, a Region, an account), of the expected kind and parent. */
  private arn(value: unknown, path: string, kinds: readonly string[], appInstanceArn?: string): Problem {
    const problem = this.shape('ChimeArn', value, path);
    if (problem) return problem;
    const parsed = parseArn(value as string);
    if (!parsed || parsed.service !== 'chime' || !kinds.includes(parsed.kind)) {
      return `${path}: must be the ARN of an ${kinds.join(' or ')}`;
    }
    // The emulator serves every Region and account (a request acts in its signature's Region and its access
    // key's account), so a kept AppInstance may be of any: it only has to be one the API could have made.
    if (parsed.partition !== 'aws' || !REGION.test(parsed.region) || !ACCOUNT.test(parsed.account)) {
      return `${path}: must be an ARN of the aws partition, a Region (such as ${this.context.region}) and a 12-digit account`;
    }
    if (appInstanceArn !== undefined && parsed.appInstanceArn !== appInstanceArn) {
      return `${path}: must belong to the AppInstance it is listed under`;
    }
    return undefined;
  }

  private appInstances(value: unknown): Problem {
    const seen = new Set<string>();
    return listProblem(value, 'service.appInstances', (app, at) => {
      const problem = this.appInstance(app, at);
      if (problem) return problem;
      const arn = (app as Json).arn as string;
      if (seen.has(arn)) return `${at}.arn: the same AppInstance appears more than once`;
      seen.add(arn);
      return undefined;
    });
  }

  private appInstance(app: unknown, path: string): Problem {
    const required = ['arn', 'name', 'createdMs', 'updatedMs', 'tags', 'users', 'bots', 'admins'];
    const keys = keysProblem(app, path, required, ['metadata', 'retention']);
    if (keys) return keys;
    const record = app as Json;
    const arn = record.arn as string;
    return first(
      () => this.arn(arn, `${path}.arn`, ['app-instance']),
      () => this.shape('NonEmptyResourceName', record.name, `${path}.name`),
      () =>
        record.metadata === undefined
          ? undefined
          : this.shape('Metadata', record.metadata, `${path}.metadata`),
      () => this.times(record, path),
      () => this.tags(record.tags, `${path}.tags`, true),
      () =>
        record.retention === undefined ? undefined : this.retention(record.retention, `${path}.retention`),
      () => this.users(record.users, `${path}.users`),
      () => listProblem(record.bots, `${path}.bots`, (bot, at) => this.bot(bot, at, arn)),
      () => listProblem(record.admins, `${path}.admins`, (admin, at) => this.admin(admin, at, arn)),
    );
  }

  /** A tag list; an AppInstance keeps an empty one, a user or bot with none omits it. */
  private tags(value: unknown, path: string, mayBeEmpty: boolean): Problem {
    if (mayBeEmpty && Array.isArray(value) && value.length === 0) return undefined;
    return this.shape('TagList', value, path);
  }

  private retention(value: unknown, path: string): Problem {
    return (
      keysProblem(value, path, ['settings', 'initiatedMs']) ??
      this.shape('AppInstanceRetentionSettings', (value as Json).settings, `${path}.settings`) ??
      this.time((value as Json).initiatedMs, `${path}.initiatedMs`)
    );
  }

  private users(value: unknown, path: string): Problem {
    const seen = new Set<string>();
    return listProblem(value, path, (user, at) => {
      const problem = this.user(user, at);
      if (problem) return problem;
      const id = (user as Json).id as string;
      if (seen.has(id)) return `${at}.id: the same user appears more than once in this AppInstance`;
      seen.add(id);
      return undefined;
    });
  }

  private user(user: unknown, path: string): Problem {
    const optional = ['metadata', 'expirationDays', 'tags', 'endpoints'];
    const keys = keysProblem(user, path, ['id', 'name', 'createdMs', 'updatedMs'], optional);
    if (keys) return keys;
    const record = user as Json;
    const endpointIds = new Set<string>();
    return first(
      () => this.shape('UserId', record.id, `${path}.id`),
      () => this.shape('UserName', record.name, `${path}.name`),
      () =>
        record.metadata === undefined
          ? undefined
          : this.shape('Metadata', record.metadata, `${path}.metadata`),
      () => this.times(record, path),
      // ExpirationSettings as the API takes them: ExpirationDays 1..5475, counted from CREATED_TIMESTAMP
      // (the only criterion, which the file does not repeat).
      () =>
        record.expirationDays === undefined
          ? undefined
          : this.shape('ExpirationDays', record.expirationDays, `${path}.expirationDays`),
      () => (record.tags === undefined ? undefined : this.tags(record.tags, `${path}.tags`, false)),
      () =>
        record.endpoints === undefined
          ? undefined
          : listProblem(record.endpoints, `${path}.endpoints`, (endpoint, at) => {
              const problem = this.endpoint(endpoint, at);
              const id = (endpoint as Json).endpointId as string;
              if (problem) return problem;
              if (endpointIds.has(id)) return `${at}.endpointId: the same endpoint appears more than once`;
              endpointIds.add(id);
              return undefined;
            }),
    );
  }

  private endpoint(endpoint: unknown, path: string): Problem {
    const required = [
      'endpointId',
      'type',
      'resourceArn',
      'attributes',
      'allowMessages',
      'createdMs',
      'updatedMs',
    ];
    const keys = keysProblem(endpoint, path, required, ['name']);
    if (keys) return keys;
    const record = endpoint as Json;
    return first(
      () => this.shape('String64', record.endpointId, `${path}.endpointId`),
      () =>
        record.name === undefined
          ? undefined
          : this.shape('SensitiveString1600', record.name, `${path}.name`),
      () => this.shape('AppInstanceUserEndpointType', record.type, `${path}.type`),
      () => this.shape('ChimeArn', record.resourceArn, `${path}.resourceArn`),
      () => this.shape('EndpointAttributes', record.attributes, `${path}.attributes`),
      () => this.shape('AllowMessages', record.allowMessages, `${path}.allowMessages`),
      () => this.times(record, path),
    );
  }

  private bot(bot: unknown, path: string, appInstanceArn: string): Problem {
    const required = ['arn', 'botId', 'configuration', 'createdMs', 'updatedMs', 'tags'];
    const keys = keysProblem(bot, path, required, ['name', 'metadata']);
    if (keys) return keys;
    const record = bot as Json;
    return first(
      () => this.arn(record.arn, `${path}.arn`, ['bot'], appInstanceArn),
      () =>
        parseArn(record.arn as string)?.id === record.botId
          ? undefined
          : `${path}.botId: must be the id its ARN ends with`,
      () => (record.name === undefined ? undefined : this.shape('ResourceName', record.name, `${path}.name`)),
      () =>
        record.metadata === undefined
          ? undefined
          : this.shape('Metadata', record.metadata, `${path}.metadata`),
      () => this.shape('Configuration', record.configuration, `${path}.configuration`),
      () => this.times(record, path),
      () => this.tags(record.tags, `${path}.tags`, true),
    );
  }

  /** `[admin ARN, when it became admin]`: a user or bot of this AppInstance. */
  private admin(entry: unknown, path: string, appInstanceArn: string): Problem {
    if (!Array.isArray(entry) || entry.length !== 2) return `${path}: must be [ARN, epoch ms]`;
    return (
      this.arn(entry[0], `${path}[0]`, ['user', 'bot'], appInstanceArn) ?? this.time(entry[1], `${path}[1]`)
    );
  }

  /** `[operation and ClientRequestToken, { fingerprint, result }]`: the result the operation's output shape. */
  private idempotencyToken(entry: unknown, path: string): Problem {
    if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') {
      return `${path}: must be ["<operation> <ClientRequestToken>", { fingerprint, result }]`;
    }
    const [key, record] = entry as [string, unknown];
    const space = key.indexOf(' ');
    const operation = this.model.operations[key.slice(0, space)];
    const input = operation?.input ? this.model.shapes[operation.input] : undefined;
    if (space < 0 || !operation?.output || !input?.members?.ClientRequestToken) {
      return `${path}[0]: must name an operation that takes a ClientRequestToken`;
    }
    return (
      this.shape('ClientRequestToken', key.slice(space + 1), `${path}[0]`) ??
      keysProblem(record, `${path}[1]`, ['fingerprint', 'result']) ??
      (typeof (record as Json).fingerprint === 'string'
        ? undefined
        : `${path}[1].fingerprint: must be a string`) ??
      this.validator(operation.output)((record as Json).result, `${path}[1].result`)
    );
  }
}
