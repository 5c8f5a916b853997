/**
 * The `manifests` input: YAML or JSON files (multi-document, `kind: List` too) read,
 * checked before anything is sent, the image put in, and applied with server-side apply
 * in a safe order (configuration, Services, workloads, routes).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseReference } from '../image/reference.js';
import { errorMessage, UserError } from '../util/errors.js';
import { globToRegExp, isGlob } from '../util/glob.js';
import type { KubeClient } from './client.js';
import type { Metadata, ResourceKind } from './resource-kind.js';
import { apiVersionOf, MANIFEST_KINDS, manifestKind, resource } from './resources.js';
import type { Container, KubeObject, PodTemplateSpec } from './types.js';

export interface Manifest {
  /** The file it came from, and the document's position in it (1-based), for messages. */
  file: string;
  document: number;
  kind: ResourceKind<Metadata>;
  object: KubeObject;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;

/** Files named by paths: files as they are, directories' YAML and JSON files, and `*` / `?` globs in the last segment. */
export function manifestFiles(paths: string[], cwd: string): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const full = resolve(cwd, p);
    if (isGlob(basename(full))) {
      const dir = dirname(full);
      if (isGlob(dir))
        throw new UserError(
          `manifests: '${p}' has wildcards in a folder name; only the file name may have them.`,
          'Write e.g. k8s/*.yaml.',
        );
      const re = globToRegExp(basename(full), '/');
      const hits = safeList(dir, p)
        .filter((f) => re.test(f))
        .sort();
      if (hits.length === 0)
        throw new UserError(
          `manifests: '${p}' matches no file.`,
          'Check the pattern; paths are relative to the workspace (check out the repository first).',
        );
      files.push(...hits.map((f) => join(dir, f)));
      continue;
    }
    let stat;
    try {
      stat = statSync(full);
    } catch {
      throw new UserError(
        `manifests: '${p}' does not exist (looked at ${full}).`,
        'Paths are relative to the workspace: check out the repository before this step.',
      );
    }
    if (stat.isDirectory())
      files.push(
        ...safeList(full, p)
          .filter((f) => MANIFEST_FILE.test(f))
          .sort()
          .map((f) => join(full, f)),
      );
    else files.push(full);
  }
  return [...new Set(files)];
}

function safeList(dir: string, p: string): string[] {
  try {
    return readdirSync(dir);
  } catch (err) {
    throw new UserError(`manifests: cannot read the folder of '${p}' (${errorMessage(err)}).`);
  }
}

/** Parses and checks every document; any mistake is a UserError naming file and document. */
export function readManifests(files: string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [docs];
    list.forEach((doc, i) => {
      const where = `${file}${list.length > 1 ? ` (document ${i + 1})` : ''}`;
      if (doc.errors.length) throw new UserError(`${where} is not valid YAML: ${doc.errors[0]?.message}`);
      const value = doc.toJS() as unknown;
      if (value === null || value === undefined) return;
      const items =
        (value as KubeObject).kind === 'List' && Array.isArray((value as { items?: unknown }).items)
          ? (value as { items: unknown[] }).items
          : [value];
      for (const item of items) out.push(check(item, file, i + 1, where));
    });
  }
  return out;
}

const unsupportedKind = (where: string, o: KubeObject): UserError =>
  new UserError(
    `${where}: platform-actions does not apply ${o.apiVersion ?? '(no apiVersion)'} ${o.kind ?? '(no kind)'}.`,
    `It applies ${MANIFEST_KINDS.map((x) => `${apiVersionOf(x)} ${x.kind}`).join(', ')}. Apply other objects with kubectl in an earlier step.`,
  );

function check(value: unknown, file: string, document: number, where: string): Manifest {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UserError(`${where} is not a Kubernetes object (a mapping with apiVersion, kind and metadata).`);
  const o = value as KubeObject;
  const k = manifestKind(o.apiVersion, o.kind);
  if (!k) {
    throw unsupportedKind(where, o);
  }
  if (!o.metadata?.name) throw new UserError(`${where}: the ${o.kind} has no metadata.name.`);
  if (o.metadata.generateName)
    throw new UserError(
      `${where}: the ${o.kind} uses generateName, which cannot be applied.`,
      'Give it a fixed metadata.name.',
    );
  return { file, document, kind: k, object: o };
}

/** Pod templates inside a workload object. */
function podTemplates(m: Manifest): PodTemplateSpec[] {
  const spec = m.object.spec as Record<string, unknown> | undefined;
  if (!spec) return [];
  if (m.kind.kind === 'CronJob') {
    const t = (spec.jobTemplate as { spec?: { template?: PodTemplateSpec } } | undefined)?.spec?.template;
    return t ? [t] : [];
  }
  return ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(m.kind.kind) && spec.template
    ? [spec.template as PodTemplateSpec]
    : [];
}

function repositoryOf(image: string): string | undefined {
  try {
    const r = parseReference(image, 'image');
    return `${r.registry}/${r.repository}`;
  } catch {
    return undefined;
  }
}

export interface Substitution {
  where: string;
  object: string;
  container: string;
  from: string;
  to: string;
}

/**
 * Puts `image` into the manifests: into the target Deployment's container (container-name,
 * or its only container), and into every other container whose image is the same
 * repository (an init container, a migration Job). Changes the objects in place.
 */
export function substituteImage(
  manifests: Manifest[],
  image: string,
  target: { deployment: string; containerName?: string },
): Substitution[] {
  const repo = repositoryOf(image);
  const done: Substitution[] = [];
  const targetManifest = manifests.find(
    (m) => m.kind.kind === 'Deployment' && m.object.metadata?.name === target.deployment,
  );
  for (const m of manifests) {
    const where = `${m.file}${m.document > 1 ? ` (document ${m.document})` : ''}`;
    const name = `${m.kind.kind}/${m.object.metadata?.name}`;
    for (const t of podTemplates(m)) {
      const containers: Container[] = [...(t.spec?.initContainers ?? []), ...(t.spec?.containers ?? [])];
      let chosen: Container | undefined;
      if (m === targetManifest) {
        const main = t.spec?.containers ?? [];
        chosen = target.containerName
          ? main.find((c) => c.name === target.containerName)
          : main.length === 1
            ? main[0]
            : undefined;
        if (!chosen) {
          throw new UserError(
            target.containerName
              ? `${where}: Deployment ${target.deployment} has no container named ${target.containerName}.`
              : `${where}: Deployment ${target.deployment} has ${main.length} containers; which one gets the image?`,
            `Set container-name to one of: ${main.map((c) => c.name).join(', ') || '(none)'}.`,
          );
        }
      }
      for (const c of containers) {
        if (c !== chosen && !(repo && c.image && repositoryOf(c.image) === repo)) continue;
        if (c.image !== image) done.push({ where, object: name, container: c.name, from: c.image ?? '', to: image });
        c.image = image;
      }
    }
  }
  return done;
}

/** Order of apply: what others refer to goes first. */
const ORDER = [
  'ServiceAccount',
  'ConfigMap',
  'Secret',
  'Service',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'CronJob',
  'HorizontalPodAutoscaler',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'Ingress',
  'HTTPRoute',
  'PodMonitoring',
];

export interface Applied {
  kind: string;
  namespace: string;
  name: string;
  /** metadata.generation after the apply (workloads, routes). */
  generation?: number;
  resourceVersion?: string;
}

/** Applies every manifest (server-side apply, field manager platform-actions), in dependency order. */
export async function applyManifests(
  kube: KubeClient,
  manifests: Manifest[],
  options: { namespace: string; dryRun?: boolean; signal?: AbortSignal },
): Promise<Applied[]> {
  const rank = (m: Manifest) => {
    const i = ORDER.indexOf(m.kind.kind);
    return i < 0 ? ORDER.length : i;
  };
  const sorted = manifests.map((m, i) => ({ m, i })).sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i);
  const applied: Applied[] = [];
  for (const { m } of sorted) {
    const namespace = m.object.metadata?.namespace ?? options.namespace;
    const out = await resource(kube, m.kind, namespace).apply(m.object, {
      dryRun: options.dryRun,
      signal: options.signal,
    });
    applied.push({
      kind: m.kind.kind,
      namespace,
      name: m.object.metadata?.name ?? '',
      generation: out.metadata?.generation,
      resourceVersion: out.metadata?.resourceVersion,
    });
  }
  return applied;
}
