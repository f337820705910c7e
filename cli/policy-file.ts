import { readFile } from 'node:fs/promises';
import { formatProblems, type Policy, parsePolicy, TENANT_ID_PATTERN } from '../shared/policy';
import { CliError, EXIT_INVALID } from './errors';

export type PolicyFileResult =
  | { readonly ok: true; readonly policy: Policy; readonly document: Record<string, unknown> }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Reads and validates a policy document from a file (`-` reads standard input). */
export async function readPolicyFile(file: string): Promise<PolicyFileResult> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliError(`cannot read policy file ${file}: ${reason}`, EXIT_INVALID);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return { ok: false, problems: [`(root): not valid JSON: ${(error as Error).message}`] };
  }
  const parsed = parsePolicy(document);
  if (!parsed.ok) return { ok: false, problems: formatProblems(parsed.problems) };
  return { ok: true, policy: parsed.policy, document: document as Record<string, unknown> };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Validates a tenant id given on the command line, so a typo is an error rather than "no such tenant". */
export function tenantIdArgument(value: string, flag = 'tenantId'): string {
  if (!TENANT_ID_PATTERN.test(value)) {
    throw new CliError(`${flag}: must be 1-64 characters of A-Z a-z 0-9 . _ -, got "${value}"`, EXIT_INVALID);
  }
  return value;
}
