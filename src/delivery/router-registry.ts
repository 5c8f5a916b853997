/**
 * Traffic routers by name. Each platform keeps one registry (src/aws/routers.ts,
 * src/k8s/routers.ts), one line per router: a name and a factory that builds the router
 * from what the platform's workload knows (clients, the route, which side is stable).
 * Adding a router is one new file plus one line there (docs/architecture.md, "Add a
 * router").
 */
import { UserError } from '../util/errors.js';
import type { TrafficRouter } from './router.js';

export type RouterFactory<C, R extends TrafficRouter = TrafficRouter> = (context: C) => R;

export class RouterRegistry<C> {
  private readonly factories = new Map<string, RouterFactory<C>>();

  /** `platform` names the registry in messages, e.g. "ECS". */
  constructor(
    readonly platform: string,
    entries: Record<string, RouterFactory<C>> = {},
  ) {
    for (const [kind, factory] of Object.entries(entries)) this.register(kind, factory);
  }

  /** Adds a router; a name already taken is a programming error. */
  register(kind: string, factory: RouterFactory<C>): this {
    if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`router name ${JSON.stringify(kind)} is not kebab-case`);
    if (this.factories.has(kind)) throw new Error(`a ${this.platform} router named ${kind} is registered already`);
    this.factories.set(kind, factory);
    return this;
  }

  has(kind: string): boolean {
    return this.factories.has(kind);
  }

  kinds(): string[] {
    return [...this.factories.keys()];
  }

  /** Builds the router `kind` for `context`; an unknown name says which ones exist. */
  create<R extends TrafficRouter = TrafficRouter>(kind: string, context: C): R {
    const factory = this.factories.get(kind);
    if (!factory) {
      throw new UserError(
        `There is no ${this.platform} traffic router named ${kind}.`,
        `Use one of: ${this.kinds().join(', ') || '(none registered)'}.`,
      );
    }
    const router = factory(context);
    if (router.kind !== kind) throw new Error(`the ${kind} factory built a router of kind ${router.kind}`);
    return router as R;
  }
}
