/** Loads the committed, generated model table (emulator/model/chime-sdk-identity.json) at runtime. */
import { readFileSync } from 'node:fs';
import type { ServiceModel } from './model/types';

let loaded: ServiceModel | undefined;

export function serviceModel(): ServiceModel {
  loaded ??= JSON.parse(
    readFileSync(new URL('./model/chime-sdk-identity.json', import.meta.url), 'utf8'),
  ) as ServiceModel;
  return loaded;
}
