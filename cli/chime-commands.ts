/**
 * The Chime SDK commands the CLI sends itself (not through an adapter), for command modules that must not
 * load the Chime client until they send one: `policy` serves `list` and `get` from DynamoDB alone, and only
 * `put` asks Chime whether the AppInstance exists. A module of ours, imported lazily: a dynamic import() of
 * the SDK package itself yields only its default export in the CLI bundle (bin/cli-build.js).
 */
export { DescribeAppInstanceCommand } from '@aws-sdk/client-chime-sdk-identity';
