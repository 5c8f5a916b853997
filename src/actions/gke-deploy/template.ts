/**
 * gke-deploy's new pod template: the Deployment in the manifests (or the live one) with
 * the image put in, what changes, and the server's dry run of both, which also tells
 * whether anything would change at all.
 */
import type { KubeClient } from '../../k8s/client.js';
import {
  applyManifests,
  manifestFiles,
  readManifests,
  substituteImage,
  type Manifest,
  type Substitution,
} from '../../k8s/manifests.js';
import { clone, DEPLOYMENTS, resource } from '../../k8s/resources.js';
import { targetContainer } from '../../k8s/rollout.js';
import { keptOf, recordOf } from '../../k8s/rollout-state.js';
import type { Deployment, PodTemplateSpec } from '../../k8s/types.js';
import { UserError } from '../../util/errors.js';
import type { Settings } from './settings.js';

export interface Source {
  template: PodTemplateSpec;
  /** The Deployment as the manifests give it, when they do. */
  manifest: Deployment | undefined;
  /** Every manifest, and those applied before the rollout (all but the Deployment, for canary and blue-green). */
  manifests: Manifest[];
  substitutions: Substitution[];
  /** "container app: ghcr.io/acme/web:1 → ghcr.io/acme/web:2" */
  changes: string[];
}

/** The manifests' objects other than the Deployment itself. */
export function otherManifests(source: Source): Manifest[] {
  return source.manifests.filter((m) => m.object !== (source.manifest as unknown));
}

function namespaceDisagrees(s: Settings, file: string, namespace: string): UserError {
  return new UserError(
    `${file} puts Deployment ${s.deployment} in namespace ${namespace}, but namespace is ${s.namespace}.`,
    'Make them agree: set namespace, or drop metadata.namespace from the manifest.',
  );
}

function noDeployment(s: Settings): UserError {
  return new UserError(
    `Deployment ${s.namespace}/${s.deployment} does not exist and the manifests do not create it.`,
    'Check deployment and namespace, or pass manifests that hold the Deployment.',
  );
}

/** The new pod template: the Deployment in the manifests, or the live one, with the image put in. */
export function newTemplate(s: Settings, live: Deployment | undefined, workspace: string): Source {
  let manifests: Manifest[] = [];
  let substitutions: Substitution[] = [];
  if (s.manifests.length) {
    manifests = readManifests(manifestFiles(s.manifests, workspace));
    substitutions = substituteImage(manifests, s.image, {
      deployment: s.deployment,
      ...(s.containerName ? { containerName: s.containerName } : {}),
    });
  }
  const found = manifests.find((m) => m.kind.kind === 'Deployment' && m.object.metadata?.name === s.deployment);
  const foundNamespace = found?.object.metadata?.namespace;
  if (found && foundNamespace && foundNamespace !== s.namespace)
    throw namespaceDisagrees(s, found.file, foundNamespace);
  const manifest = found?.object as Deployment | undefined;
  const base = manifest?.spec?.template ?? live?.spec?.template;
  if (!base) throw noDeployment(s);
  const template = clone(base);
  const where = manifest ? `Deployment ${s.deployment} in ${found?.file}` : `Deployment ${s.namespace}/${s.deployment}`;
  const container = targetContainer(template, s.containerName, where);
  container.image = s.image;
  const before = live
    ? targetContainer(live.spec?.template ?? {}, container.name, `Deployment ${s.namespace}/${s.deployment}`).image
    : undefined;
  const changes = [
    ...(before !== s.image ? [`container ${container.name}: ${before ?? '(new)'} → ${s.image}`] : []),
    ...substitutions
      .filter((x) => !(x.object === `Deployment/${s.deployment}` && x.container === container.name))
      .map((x) => `${x.object} container ${x.container}: ${x.from} → ${x.to}`),
  ];
  return { template, manifest, manifests, substitutions, changes };
}

/**
 * The server checks the new template and the manifests (dry run): a mistake fails here,
 * not half way. True when nothing in the Deployment would change and nothing is
 * unfinished or kept on it.
 */
export async function serverCheck(
  kube: KubeClient,
  s: Settings,
  o: { live: Deployment | undefined; source: Source; signal: AbortSignal },
): Promise<boolean> {
  const { live, source, signal } = o;
  const checked = live
    ? await resource(kube, DEPLOYMENTS, s.namespace).update(
        s.deployment,
        (d) => ({ ...d, spec: { ...(d.spec as NonNullable<Deployment['spec']>), template: clone(source.template) } }),
        { dryRun: true, signal },
      )
    : undefined;
  const checkedManifests = source.manifests.length
    ? await applyManifests(kube, source.manifests, { namespace: s.namespace, dryRun: true, signal })
    : [];
  // The server bumps the generation on any change to the spec: the same one means nothing would change.
  const nextGeneration = source.manifest
    ? checkedManifests.find((a) => a.kind === 'Deployment' && a.name === s.deployment)?.generation
    : checked?.object.metadata?.generation;
  return (
    live !== undefined &&
    nextGeneration !== undefined &&
    nextGeneration === live.metadata?.generation &&
    !recordOf(live) &&
    !keptOf(live)
  );
}
