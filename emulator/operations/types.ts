/**
 * Types of the operation table, derived rather than written out: the operation names from the generated model
 * table (emulator/model/chime-sdk-identity.json), their request and response shapes from the type declarations
 * of @aws-sdk/client-chime-sdk-identity (generated from the same Smithy model). Type-only: nothing of the SDK
 * is loaded at run time, so the emulator still runs on Node built-ins alone.
 */
import type { ChimeSDKIdentity } from '@aws-sdk/client-chime-sdk-identity';

type ModelFile = typeof import('../model/chime-sdk-identity.json');

/** The model's operations, e.g. `CreateAppInstanceUser`. */
export type OperationName = keyof ModelFile['operations'] & string;

/** The SDK client's method for an operation (`createAppInstanceUser`). */
type ClientMethod<N extends OperationName> = ChimeSDKIdentity[Uncapitalize<N> & keyof ChimeSDKIdentity];

/** Operations of the model that the SDK does not have: must stay empty, or their types would be `never`. */
type NotInTheSdk = Exclude<Uncapitalize<OperationName>, keyof ChimeSDKIdentity>;
export const everyOperationIsInTheSdk: [NotInTheSdk] extends [never] ? true : NotInTheSdk = true;

/**
 * What the request validator (validation.ts) guarantees of a request: the model's required members are present
 * (the SDK types them `| undefined` because it lets callers leave them to the service), nested ones too.
 */
export type Validated<T> = T extends readonly (infer Element)[]
  ? Validated<Element>[]
  : T extends object
    ? Flatten<
        { [K in Exclude<keyof T, OptionalKeys<T>>]-?: Validated<NonNullable<T[K]>> } & {
          [K in OptionalKeys<T>]?: Validated<NonNullable<T[K]>>;
        }
      >
    : T;

/** The members declared with `?`: an object without them still is a `Pick` of them. */
type OptionalKeys<T> = { [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? K : never }[keyof T];

type Flatten<T> = { [K in keyof T]: T[K] };

/** A response as it travels in rest-json: timestamps are epoch seconds (the SDK turns them into Dates). */
export type Wire<T> = T extends Date
  ? number
  : T extends readonly (infer Element)[]
    ? Wire<Element>[]
    : T extends object
      ? { [K in keyof T]: Wire<T[K]> }
      : T;

/** Every overload of a client method takes the request first. */
type SdkInput<N extends OperationName> = Parameters<ClientMethod<N>>[0];
/** The callback overload (the last, which `Parameters` reads) hands the response to its callback second. */
type SdkOutput<N extends OperationName> = Parameters<ClientMethod<N>>[2] extends (
  error: unknown,
  data?: infer Output,
) => void
  ? Omit<NonNullable<Output>, '$metadata'>
  : never;

/** An operation's request after validation. */
export type InputOf<N extends OperationName> = Validated<SdkInput<N>>;

/** An operation's response body; `undefined` for the operations whose response has no members (204). */
export type OutputOf<N extends OperationName> = keyof SdkOutput<N> extends never
  ? undefined
  : Wire<SdkOutput<N>>;

/** The untyped view at the HTTP boundary: a request bound from path, query and body, before it is typed. */
export type OperationInput = Record<string, unknown>;
export type OperationOutput = Record<string, unknown> | undefined;
export type OperationHandler = (input: OperationInput) => OperationOutput;
