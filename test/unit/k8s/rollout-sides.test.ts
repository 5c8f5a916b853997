import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { rbacRulesYaml } from '../../../src/k8s/errors.js';
import { canaryReplicasFor, replicaSplit } from '../../../src/k8s/replica-split.js';
import { ownSelector, sideDeployment, sideService, withoutTrack } from '../../../src/k8s/rollout-sides.js';
import { keptOf, layoutOf } from '../../../src/k8s/rollout-state.js';
import type { Deployment, Service } from '../../../src/k8s/types.js';

describe('replicaSplit', () => {
  it('is exact at 0% and 100%', () => {
    expect(replicaSplit(3, 0)).toEqual({ canary: 0, stable: 3, weight: 0 });
    expect(replicaSplit(3, 100)).toEqual({ canary: 3, stable: 0, weight: 100 });
  });

  it('keeps both sides and the capacity, and comes as close as up to twice the pods allow', () => {
    expect(replicaSplit(10, 10)).toEqual({ canary: 1, stable: 9, weight: 10 });
    expect(replicaSplit(10, 25)).toEqual({ canary: 3, stable: 9, weight: 25 });
    expect(replicaSplit(3, 10)).toEqual({ canary: 1, stable: 5, weight: 17 });
    expect(replicaSplit(3, 50)).toEqual({ canary: 2, stable: 2, weight: 50 });
    expect(replicaSplit(1, 50)).toEqual({ canary: 1, stable: 1, weight: 50 });
    expect(replicaSplit(1, 90)).toEqual({ canary: 3, stable: 1, weight: 75 });
    for (const n of [1, 2, 3, 5, 8]) {
      for (const w of [1, 10, 33, 50, 67, 90, 99]) {
        const s = replicaSplit(n, w);
        expect(s.canary).toBeGreaterThanOrEqual(1);
        expect(s.stable).toBeGreaterThanOrEqual(1);
        expect(s.canary + s.stable).toBeGreaterThanOrEqual(Math.max(n, 2));
        expect(s.canary + s.stable).toBeLessThanOrEqual(2 * Math.max(n, 2));
      }
    }
  });

  it('gives a routed canary its share of the stable replicas, at least one', () => {
    expect([1, 10, 34, 50, 100].map((w) => canaryReplicasFor(3, w))).toEqual([1, 1, 2, 2, 3]);
  });
});

const stable: Deployment = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    replicas: 3,
    selector: {
      matchLabels: { app: 'web' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }],
    },
    progressDeadlineSeconds: 120,
    strategy: { type: 'RollingUpdate' },
    template: {
      metadata: { labels: { app: 'web', tier: 'frontend' } },
      spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/web:1' }] },
    },
  },
};

describe('side objects', () => {
  it('gives the side Deployment the stable selector plus the track label, and its pods every stable label', () => {
    const template = {
      metadata: { labels: { app: 'web', tier: 'frontend', 'pod-template-hash': 'abc' } },
      spec: { containers: [{ name: 'app', image: 'ghcr.io/acme/web:2' }] },
    };
    const side = sideDeployment(stable, {
      name: 'web-canary',
      track: 'canary',
      template,
      replicas: 1,
      deploymentId: '4242.1-x',
    });
    expect(side.spec?.selector).toEqual({
      matchLabels: { app: 'web', 'platform-actions/track': 'canary' },
      matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend'] }],
    });
    expect(side.spec?.template.metadata?.labels).toEqual({
      app: 'web',
      tier: 'frontend',
      'platform-actions/track': 'canary',
    });
    expect(side.spec).toMatchObject({ replicas: 1, progressDeadlineSeconds: 120, revisionHistoryLimit: 2 });
    expect(side.metadata?.labels).toEqual({ 'platform-actions/rollout-of': 'web', 'platform-actions/track': 'canary' });
    expect(withoutTrack(side.spec?.template ?? {}).metadata?.labels).toEqual({ app: 'web', tier: 'frontend' });
  });

  it('gives the side Service the stable selector without our pin, plus the track label, and the same ports', () => {
    const svc: Service = {
      metadata: {
        name: 'web',
        namespace: 'shop',
        annotations: { 'platform-actions/pinned-selector': 'pod-template-hash' },
      },
      spec: {
        selector: { app: 'web', 'pod-template-hash': 'abc' },
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        clusterIP: '10.0.0.1',
      },
    };
    expect(ownSelector(svc)).toEqual({ app: 'web' });
    expect(sideService(svc, { name: 'web-preview', track: 'green', owner: 'web', deploymentId: 'x' }).spec).toEqual({
      type: 'ClusterIP',
      selector: { app: 'web', 'platform-actions/track': 'green' },
      ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
    });
  });

  it('reads the layout and kept-blue annotations, and ignores what is not one', () => {
    const d = (annotations: Record<string, string>): Deployment => ({ metadata: { annotations } });
    expect(
      layoutOf(
        d({ 'platform-actions/traffic': '{"v":1,"mode":"route","service":"web","replicas":3,"side":"web-canary"}' }),
      ),
    ).toMatchObject({ mode: 'route', side: 'web-canary' });
    expect(layoutOf(d({ 'platform-actions/traffic': 'not json' }))).toBeUndefined();
    expect(layoutOf(d({ 'platform-actions/traffic': '{"v":2}' }))).toBeUndefined();
    expect(
      keptOf(
        d({ 'platform-actions/blue-green': '{"id":"1","blue":"web-abc","green":"web-green","until":1764000000}' }),
      ),
    ).toEqual({ id: '1', blue: 'web-abc', green: 'web-green', until: 1764000000 });
    expect(keptOf(d({}))).toBeUndefined();
  });
});

describe('docs', () => {
  it('gke-deploy.md shows the RBAC rules the code asks for in its refusals', () => {
    const doc = readFileSync(new URL('../../../docs/actions/gke-deploy.md', import.meta.url), 'utf8');
    expect(doc).toContain(`\`\`\`yaml\n${rbacRulesYaml()}\n\`\`\``);
  });
});
