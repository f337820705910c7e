/** Types of the generated, data-only model table (`chime-sdk-identity.json`). */

export interface ModelMember {
  readonly shape: string;
  /** Where the member travels; absent means the JSON body. */
  readonly location?: 'uri' | 'querystring' | 'header';
  readonly locationName?: string;
  readonly idempotencyToken?: boolean;
}

export interface ModelShape {
  readonly type:
    | 'structure'
    | 'string'
    | 'integer'
    | 'long'
    | 'boolean'
    | 'list'
    | 'map'
    | 'timestamp'
    | 'blob';
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly required?: readonly string[];
  readonly members?: Readonly<Record<string, ModelMember>>;
  /** Member shape of a list. */
  readonly member?: string;
  /** Present on exception shapes. */
  readonly error?: { readonly code: string; readonly httpStatus: number };
}

export interface ModelOperation {
  readonly method: string;
  /** Path with `{label}` placeholders, without the query part. */
  readonly path: string;
  /** Fixed query parameters that select the operation, e.g. `operation=tag-resource`. */
  readonly staticQuery: Readonly<Record<string, string>>;
  readonly successCode: number;
  readonly input?: string;
  readonly output?: string;
  readonly errors: readonly string[];
  readonly paginated: boolean;
}

export interface ServiceModel {
  readonly apiVersion: string;
  readonly signingName: string;
  readonly endpointPrefix: string;
  readonly operations: Readonly<Record<string, ModelOperation>>;
  readonly shapes: Readonly<Record<string, ModelShape>>;
}
