/**
 * Checks Kubernetes objects against the official schemas, as the API server does:
 *
 * - values: the validators kubernetes-models and @kubernetes-models/gateway-api generate
 *   from Kubernetes' OpenAPI document and the Gateway API CRDs (types, required fields,
 *   enums, formats, bounds);
 * - unknown fields (the server's fieldValidation=Strict): walked along the same packages'
 *   TypeScript declarations of those schemas with the type checker, since the generated
 *   validators allow extra properties.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { Event, Pod, Service } from 'kubernetes-models/v1';
import { Deployment, ReplicaSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import { ROOT } from './runner.js';

export type SchemaKind =
  'Deployment' | 'ReplicaSet' | 'Service' | 'Pod' | 'Event' | 'HTTPRoute' | 'HorizontalPodAutoscaler' | 'Job';

const MODELS: Record<SchemaKind, new (data: never) => { validate(): void }> = {
  Deployment: Deployment as never,
  ReplicaSet: ReplicaSet as never,
  Service: Service as never,
  Pod: Pod as never,
  Event: Event as never,
  HTTPRoute: HTTPRoute as never,
  HorizontalPodAutoscaler: HorizontalPodAutoscaler as never,
  Job: Job as never,
};

const ROOTS: Record<SchemaKind, [string, string]> = {
  Deployment: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'],
  ReplicaSet: ['kubernetes-models/apps/v1/ReplicaSet', 'IReplicaSet'],
  Service: ['kubernetes-models/v1/Service', 'IService'],
  Pod: ['kubernetes-models/v1/Pod', 'IPod'],
  Event: ['kubernetes-models/v1/Event', 'IEvent'],
  HTTPRoute: ['@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute', 'IHTTPRoute'],
  HorizontalPodAutoscaler: ['kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler', 'IHorizontalPodAutoscaler'],
  Job: ['kubernetes-models/batch/v1/Job', 'IJob'],
};

let checker: { checker: ts.TypeChecker; types: Map<SchemaKind, ts.Type> } | undefined;

/** One small program over the declaration files, built once per worker (~1 s). */
function types() {
  if (checker) return checker;
  const file = join(ROOT, 'test', 'support', '__kube_schema_roots__.ts');
  const text = Object.entries(ROOTS)
    .map(([kind, [mod, name]]) => `import type { ${name} as ${kind}T } from '${mod}';\nexport type ${kind} = ${kind}T;`)
    .join('\n');
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    strict: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, text, lang) : getSourceFile(name, lang, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], options, host);
  const c = program.getTypeChecker();
  const source = program.getSourceFile(file) as ts.SourceFile;
  const map = new Map<SchemaKind, ts.Type>();
  for (const stmt of source.statements) {
    if (ts.isTypeAliasDeclaration(stmt)) map.set(stmt.name.text as SchemaKind, c.getTypeAtLocation(stmt.name));
  }
  checker = { checker: c, types: map };
  return checker;
}

function objectMembers(c: ts.TypeChecker, type: ts.Type): ts.Type[] {
  const t = c.getNonNullableType(type);
  const members = t.isUnion() ? t.types : [t];
  return members.filter((m) => (m.flags & ts.TypeFlags.Object) !== 0 && !c.isArrayType(m));
}

function unknownFields(c: ts.TypeChecker, type: ts.Type, value: unknown, path: string, out: string[]): void {
  if (value === null || typeof value !== 'object') return;
  const nonNull = c.getNonNullableType(type);
  if (Array.isArray(value)) {
    const arrays = (nonNull.isUnion() ? nonNull.types : [nonNull]).filter((m) => c.isArrayType(m));
    const element = arrays[0] ? c.getTypeArguments(arrays[0] as ts.TypeReference)[0] : undefined;
    if (element) value.forEach((v, i) => unknownFields(c, element, v, `${path}[${i}]`, out));
    return;
  }
  const candidates = objectMembers(c, type);
  if (candidates.length === 0) return;
  for (const [key, v] of Object.entries(value)) {
    let found: ts.Type | undefined;
    for (const cand of candidates) {
      const prop = cand.getProperty(key);
      if (prop) {
        found = c.getTypeOfSymbol(prop);
        break;
      }
      const index = c.getIndexTypeOfType(cand, ts.IndexKind.String);
      if (index) {
        found = index;
        break;
      }
    }
    if (!found) out.push(`${path ? `${path}.` : ''}${key}: unknown field`);
    else unknownFields(c, found, v, path ? `${path}.${key}` : key, out);
  }
}

/** Every way `object` breaks the schema of `kind`; empty when it fits. */
export function schemaProblems(kind: SchemaKind, object: unknown): string[] {
  const problems: string[] = [];
  try {
    new MODELS[kind](object as never).validate();
  } catch (err) {
    const details = (err as { details?: Array<{ instancePath?: string; message?: string }> }).details;
    if (details?.length) problems.push(...details.map((d) => `${d.instancePath || '/'} ${d.message ?? ''}`.trim()));
    else problems.push((err as Error).message);
  }
  const t = types();
  const type = t.types.get(kind);
  if (type) unknownFields(t.checker, type, object, '', problems);
  return problems;
}
