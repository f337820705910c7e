/** Matches HTTP requests to model operations using the generated route table (method, path labels, query). */
import type { ModelOperation, ServiceModel } from './model/types';

interface CompiledRoute {
  readonly operation: string;
  readonly definition: ModelOperation;
  /** Literal segment, or null where a `{label}` captures the decoded segment. */
  readonly segments: readonly (string | null)[];
  readonly labels: readonly string[];
  readonly staticQuery: readonly (readonly [string, string])[];
}

export interface RouteMatch {
  readonly operation: string;
  readonly definition: ModelOperation;
  /** Decoded path label values by label name (e.g. `appInstanceUserArn`). */
  readonly labels: Record<string, string>;
}

export class Router {
  private readonly byMethodAndLength = new Map<string, CompiledRoute[]>();

  constructor(model: ServiceModel) {
    for (const [operation, definition] of Object.entries(model.operations)) {
      const parts = definition.path.split('/').slice(1);
      const labels: string[] = [];
      const segments = parts.map((part) => {
        const label = /^\{(.+)\}$/.exec(part)?.[1];
        if (label === undefined) return part;
        labels.push(label);
        return null;
      });
      const route: CompiledRoute = {
        operation,
        definition,
        segments,
        labels,
        staticQuery: Object.entries(definition.staticQuery),
      };
      const key = `${definition.method} ${segments.length}`;
      const list = this.byMethodAndLength.get(key) ?? [];
      list.push(route);
      // Routes that select on a query value (tags?operation=...) are tried before plain ones.
      list.sort((a, b) => b.staticQuery.length - a.staticQuery.length);
      this.byMethodAndLength.set(key, list);
    }
  }

  /**
   * @param rawSegments path split on `/` without the leading empty segment, still percent-encoded.
   * @throws URIError when a label segment is not valid percent-encoding.
   */
  match(method: string, rawSegments: readonly string[], query: URLSearchParams): RouteMatch | undefined {
    const candidates = this.byMethodAndLength.get(`${method} ${rawSegments.length}`);
    if (!candidates) return undefined;
    outer: for (const route of candidates) {
      for (let i = 0; i < route.segments.length; i++) {
        const literal = route.segments[i];
        if (literal !== null && literal !== rawSegments[i]) continue outer;
      }
      for (const [key, value] of route.staticQuery) if (query.get(key) !== value) continue outer;
      const labels: Record<string, string> = {};
      let labelIndex = 0;
      for (let i = 0; i < route.segments.length; i++) {
        if (route.segments[i] !== null) continue;
        const raw = rawSegments[i] as string;
        labels[route.labels[labelIndex++] as string] = raw.includes('%') ? decodeURIComponent(raw) : raw;
      }
      return { operation: route.operation, definition: route.definition, labels };
    }
    return undefined;
  }
}
