import { readFile } from 'node:fs/promises';
import { formatProblems, type Policy, parsePolicy, TENANT_ID_PATTERN } from '../shared/policy';
import { MAX_DOCUMENT_BYTES } from '../shared/policy/schema';
import { parseStrictJsonBytes } from '../shared/policy/strict-json';
import { CliError, EXIT_INVALID } from './errors';
import { clipQuotedInputs, quoteInput } from './output';

export type PolicyFileResult =
  | {
      readonly ok: true;
      readonly policy: Policy;
      /** The parsed document: null-prototype objects, so any key is plain data. */
      readonly document: Record<string, unknown>;
      /** The text as read, stored as is so `policy get` gives it back with its key order. */
      readonly source: string;
    }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Reads and validates a policy document from a file (`-` reads standard input): strict UTF-8, strict JSON
 * (no duplicate keys, no lone surrogates), then the policy schema.
 */
export async function readPolicyFile(file: string): Promise<PolicyFileResult> {
  let bytes: Buffer;
  try {
    bytes = file === '-' ? await readStdin() : await readFile(file);
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new CliError(`cannot read policy file ${file}: ${reason}`, EXIT_INVALID);
  }
  // The text is stored as written; a limit on the bytes read keeps padding from slipping past the one on
  // the compact document that parsePolicy checks.
  if (bytes.length > MAX_DOCUMENT_BYTES * 2) {
    return {
      ok: false,
      problems: [
        `(root): the file is ${bytes.length} bytes; the limit is ${MAX_DOCUMENT_BYTES * 2} bytes as written and ${MAX_DOCUMENT_BYTES} bytes as compact JSON (well under DynamoDB's 400 KB item limit)`,
      ],
    };
  }
  const read = parseStrictJsonBytes(bytes);
  // A problem may quote the document (an unknown key in its path): at most a short prefix of each value.
  if (!read.ok) {
    return { ok: false, problems: [clipQuotedInputs(`${read.problem.path}: ${read.problem.message}`)] };
  }
  const parsed = parsePolicy(read.value);
  if (!parsed.ok)
    return { ok: false, problems: formatProblems(parsed.problems).map((line) => clipQuotedInputs(line)) };
  return {
    ok: true,
    policy: parsed.policy,
    document: read.value as Record<string, unknown>,
    source: read.text.endsWith('\n') ? read.text : `${read.text}\n`,
  };
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Validates a tenant id given on the command line, so a typo is an error rather than "no such tenant". */
export function tenantIdArgument(value: string, flag = 'tenantId'): string {
  if (!TENANT_ID_PATTERN.test(value)) {
    throw new CliError(
      `${flag}: must be 1-64 characters of A-Z a-z 0-9 . _ -, got ${quoteInput(value)}`,
      EXIT_INVALID,
    );
  }
  return value;
}
