/**
 * The Kubernetes router registry and the layout router of the side-by-side targets: which
 * mechanism a traffic layout gets, that a fresh process follows the recorded layout rather
 * than what it was given, and that only a mechanism with weights offers them for comparison.
 */
import { describe, expect, it } from '@jest/globals';
import type { KubeClient } from '../../../src/k8s/client.js';
import { LayoutRouter } from '../../../src/k8s/layout-router.js';
import type { KubeRouterContext } from '../../../src/k8s/router-context.js';
import { KUBE_ROUTERS, ROUTER_OF_MODE } from '../../../src/k8s/routers.js';
import type { TrafficLayout } from '../../../src/k8s/rollout-state.js';
import { UserError } from '../../../src/util/errors.js';
import { FakeClock } from '../../support/fake-clock.js';

function context(layout: () => TrafficLayout | undefined): KubeRouterContext {
  const unused = () => Promise.reject(new Error('no cluster in this test'));
  return {
    kube: {} as KubeClient,
    namespace: 'shop',
    deployment: 'web',
    clock: new FakeClock(),
    log: () => undefined,
    layout,
    route: () => layout()?.route,
    sideName: () => 'web-canary',
    sideServiceOf: (l) => `${l.service}-canary`,
    ops: { scale: unused, waitRollout: unused, waitReplicas: unused, autoscaler: unused },
  };
}

const routeLayout: TrafficLayout = {
  v: 1,
  mode: 'route',
  service: 'web',
  route: 'web',
  stableWeight: 100,
  replicas: 3,
  side: 'web-canary',
  sideService: 'web-canary',
};

describe('KUBE_ROUTERS', () => {
  it('has one router per mechanism, and every traffic mode names a registered one', () => {
    expect(KUBE_ROUTERS.kinds().sort()).toEqual([
      'deployment-rollout',
      'http-route',
      'replica-ratio',
      'service-selector',
    ]);
    for (const kind of Object.values(ROUTER_OF_MODE)) expect(KUBE_ROUTERS.has(kind)).toBe(true);
  });

  it('only the rolling router leaves traffic to Kubernetes', () => {
    const built = KUBE_ROUTERS.kinds().map((kind) =>
      KUBE_ROUTERS.create(
        kind,
        context(() => undefined),
      ),
    );
    expect(built.filter((r) => !r.drivesTraffic).map((r) => r.kind)).toEqual(['deployment-rollout']);
  });

  it('refuses an unknown name and says which exist', () => {
    expect(() =>
      KUBE_ROUTERS.create(
        'istio',
        context(() => undefined),
      ),
    ).toThrow(UserError);
    expect(() =>
      KUBE_ROUTERS.create(
        'istio',
        context(() => undefined),
      ),
    ).toThrow(/no Kubernetes traffic router named istio/);
  });
});

describe('LayoutRouter', () => {
  it("follows the recorded layout's mode over the one this run chose", () => {
    let recorded: TrafficLayout | undefined;
    // A fresh process given no http-route would choose the replica ratio...
    const router = new LayoutRouter(
      context(() => recorded),
      () => recorded?.mode ?? 'replicas',
    );
    expect(router.kind).toBe('replica-ratio');
    // ...but the rollout it finishes split traffic with an HTTPRoute.
    recorded = routeLayout;
    expect(router.kind).toBe('http-route');
    recorded = { ...routeLayout, mode: 'selector', route: undefined, pinned: 'abc123' };
    expect(router.kind).toBe('service-selector');
  });

  it('offers weights to compare only where the mechanism keeps them (an HTTPRoute)', async () => {
    let mode: TrafficLayout['mode'] = 'replicas';
    const router = new LayoutRouter(
      context(() => undefined),
      () => mode,
    );
    expect(router.readWeight).toBeUndefined();
    mode = 'selector';
    expect(router.readWeight).toBeUndefined();
    mode = 'route';
    expect(router.readWeight).toBeDefined();
    // No layout yet: nothing to read, and nothing is asked of the cluster.
    await expect(router.readWeight!()).resolves.toBeUndefined();
  });

  it('refuses to set a weight before the layout exists', async () => {
    const router = new LayoutRouter(
      context(() => undefined),
      () => 'route',
    );
    await expect(router.setWeight(10)).rejects.toThrow('shift before create');
  });
});
