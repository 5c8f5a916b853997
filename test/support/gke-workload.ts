/**
 * The GKE side of the reference workload in the Kubernetes stand-in: Deployment `web`
 * (selector app=web) behind Service `web`, optionally an HTTPRoute `web` on a Gateway, the
 * way a team runs it before its first gke-deploy; plus readers for what the tests check
 * (the route's weights as each write set them, the record annotation, the objects left).
 */
import type { KubeServer, Obj } from './kube-server.js';

export const NS = 'shop';
export const IMAGES = {
  v1: 'ghcr.io/acme/web:1.0.0',
  v2: 'ghcr.io/acme/web:2.0.0',
  broken: 'ghcr.io/acme/web:broken',
};

export function webDeployment(
  options: { replicas?: number; image?: string; progressDeadlineSeconds?: number } = {},
): Obj {
  return {
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      replicas: options.replicas ?? 3,
      selector: { matchLabels: { app: 'web' } },
      ...(options.progressDeadlineSeconds !== undefined
        ? { progressDeadlineSeconds: options.progressDeadlineSeconds }
        : {}),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: 'web', tier: 'frontend' } },
        spec: {
          containers: [
            { name: 'app', image: options.image ?? IMAGES.v1, ports: [{ containerPort: 8080, name: 'http' }] },
          ],
        },
      },
    },
  };
}

export function webService(name = 'web'): Obj {
  return {
    metadata: { name, labels: { app: 'web' } },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

export function webRoute(): Obj {
  return {
    metadata: { name: 'web' },
    spec: {
      parentRefs: [{ name: 'external', namespace: 'gateways' }],
      hostnames: ['shop.example.com'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ name: 'web', port: 80 }] },
        { matches: [{ path: { type: 'PathPrefix', value: '/status' } }], backendRefs: [{ name: 'status', port: 80 }] },
      ],
    },
  };
}

/** Seeds the workload and waits until the controller has it settled (all replicas available). */
export async function seedWeb(
  server: KubeServer,
  options: { replicas?: number; route?: boolean; progressDeadlineSeconds?: number } = {},
): Promise<void> {
  server.seed('deployments', NS, webDeployment(options));
  server.seed('services', NS, webService());
  if (options.route) {
    server.seed('services', NS, {
      metadata: { name: 'status' },
      spec: { selector: { app: 'status' }, ports: [{ port: 80 }] },
    });
    server.seed('httproutes', NS, webRoute());
  }
  await settled(server, 'web');
}

/** Waits until a Deployment's rollout is complete in the stand-in. */
export async function settled(server: KubeServer, name: string, timeoutMs = 20_000): Promise<Obj> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = server.get('deployments', NS, name);
    const st = d?.status ?? {};
    const want = d?.spec?.replicas ?? 1;
    if (
      d &&
      st.observedGeneration === d.metadata.generation &&
      st.updatedReplicas === want &&
      st.availableReplicas === want &&
      st.replicas === want
    )
      return d;
    if (Date.now() > deadline) throw new Error(`Deployment ${name} did not settle: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Our two refs' weights in the route's first rule, as stored now. */
export function routeWeights(server: KubeServer): Record<string, number> {
  const route = server.get('httproutes', NS, 'web') as Obj;
  return Object.fromEntries((route.spec.rules[0].backendRefs as Obj[]).map((r) => [r.name, r.weight ?? 1]));
}

/** The weights each write (PUT) of the route set, in order: what the rollout asked the Gateway for. */
export function routeWrites(server: KubeServer): Array<Record<string, number>> {
  return server
    .requestsOf('PUT', 'httproutes')
    .filter((r) => r.status === 200)
    .map((r) =>
      Object.fromEntries(((r.body as Obj).spec.rules[0].backendRefs as Obj[]).map((b) => [b.name, b.weight ?? 1])),
    );
}

/** Images of the Deployment's pod template. */
export function imageOf(server: KubeServer, name = 'web'): string | undefined {
  return server.get('deployments', NS, name)?.spec.template.spec.containers[0].image;
}

export function annotationsOf(server: KubeServer, name = 'web'): Record<string, string> {
  return server.get('deployments', NS, name)?.metadata.annotations ?? {};
}

/** Names of the Deployments and Services in the namespace. */
export function objectNames(server: KubeServer): { deployments: string[]; services: string[] } {
  return {
    deployments: server
      .list('deployments', NS)
      .map((d) => d.metadata.name)
      .sort(),
    services: server
      .list('services', NS)
      .map((d) => d.metadata.name)
      .sort(),
  };
}

/** Pods of a Deployment's ReplicaSets that are ready, with their image. */
export function readyPods(server: KubeServer, deployment: string): string[] {
  const d = server.get('deployments', NS, deployment);
  if (!d) return [];
  const sets = server
    .list('replicasets', NS)
    .filter((rs) => rs.metadata.ownerReferences?.some((o: Obj) => o.uid === d.metadata.uid));
  return server
    .list('pods', NS)
    .filter((p) => sets.some((rs) => p.metadata.ownerReferences?.some((o: Obj) => o.uid === rs.metadata.uid)))
    .filter((p) => (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'))
    .map((p) => p.spec.containers[0].image);
}
