/**
 * Static checks of workflows against what they call, beyond what actionlint can know
 * (it cannot read our action.yml files or our reusable workflows through `uses:`):
 *
 * - our actions are called as PUBLISHED_AS/actions/<id>@PUBLISHED_VERSION, the action
 *   exists (a missing action.yml is an error, never a skip), `with:` passes only
 *   declared inputs and every required one;
 * - our reusable workflows likewise (inputs, secrets), and the calling job grants every
 *   permission the called workflow's jobs ask for;
 * - every `steps.X.outputs.Y` reads an earlier step X of the job whose action declares
 *   Y, every `needs.J.outputs.Y` a job J in `needs` that declares Y, every
 *   `jobs.J.outputs.Y` of workflow_call outputs a declared job output, every
 *   `inputs.X` / `secrets.X` of a reusable workflow a declared one;
 * - third-party actions pinned by a full commit SHA, no `./` actions or workflows (in a
 *   reusable workflow that would be the caller's repository);
 * - no `${{ }}` interpolated into `run:` (pass values through `env:`);
 * - least privilege: `permissions:` on every job of a reusable workflow, `id-token:
 *   write` exactly on the jobs that authenticate (aws-auth, gcp-auth), never workflow-wide;
 * - a job that changes live traffic (ecs-deploy, gke-deploy, rollback) is bound to an
 *   `environment:` and has a `concurrency:` group with `cancel-in-progress: false`.
 */

export interface ActionSpec {
  inputs?: Record<string, { required?: boolean; default?: unknown }>;
  outputs?: Record<string, unknown>;
}

export interface WorkflowSpec {
  doc: Record<string, unknown>;
}

export interface CheckContext {
  publishedAs: string;
  version: string;
  /** Our actions by id (actions/<id>/action.yml). */
  actions: ReadonlyMap<string, ActionSpec>;
  /** Our reusable workflows by file name (terraform.yml). */
  workflows: ReadonlyMap<string, WorkflowSpec>;
}

export interface CheckStats {
  actionUses: number;
  workflowCalls: number;
  outputReads: number;
  /** Reads of outputs of third-party actions or `run:` steps: the step is checked, the name cannot be. */
  uncheckedOutputNames: number;
}

type Obj = Record<string, unknown>;
type Level = 'none' | 'read' | 'write';

const AUTH_ACTIONS = new Set(['aws-auth', 'gcp-auth']);
/** Actions that change live traffic: their jobs need an environment and a concurrency group that never cancels. */
const DEPLOY_ACTIONS = new Set(['ecs-deploy', 'gke-deploy', 'rollback']);
const SHA = /^[0-9a-f]{40}$/;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const levelRank: Record<Level, number> = { none: 0, read: 1, write: 2 };
const PERMISSION_KEYS = [
  'actions',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
];

/** Every string inside a value, with a path for messages. */
function strings(
  value: unknown,
  path: string,
  out: Array<{ path: string; text: string; key: string }> = [],
  key = '',
): typeof out {
  if (typeof value === 'string') out.push({ path, text: value, key });
  else if (Array.isArray(value)) value.forEach((v, i) => strings(v, `${path}[${i}]`, out, key));
  else if (isObj(value)) for (const [k, v] of Object.entries(value)) strings(v, path ? `${path}.${k}` : k, out, k);
  return out;
}

/** Expressions in a string: `${{ … }}` parts, or the whole text of an `if:`. */
function expressions(text: string, key: string): string[] {
  const found = [...text.matchAll(/\$\{\{([\s\S]*?)\}\}/g)].map((m) => m[1] as string);
  if (found.length === 0 && key === 'if') return [text];
  return found;
}

function permissionsOf(p: unknown): Map<string, Level> | undefined {
  if (p === undefined) return undefined;
  const out = new Map<string, Level>();
  if (p === 'write-all' || p === 'read-all') {
    for (const k of PERMISSION_KEYS) out.set(k, p === 'write-all' ? 'write' : 'read');
    return out;
  }
  if (isObj(p)) for (const [k, v] of Object.entries(p)) out.set(k, v as Level);
  return out;
}

interface ParsedUses {
  kind: 'ours-action' | 'ours-workflow' | 'local' | 'docker' | 'third-party' | 'ours-unknown';
  id?: string;
  ref?: string;
}

function parseUses(uses: string, ctx: CheckContext): ParsedUses {
  if (uses.startsWith('./') || uses.startsWith('../')) return { kind: 'local' };
  if (uses.startsWith('docker://')) return { kind: 'docker' };
  const at = uses.lastIndexOf('@');
  const path = at < 0 ? uses : uses.slice(0, at);
  const ref = at < 0 ? undefined : uses.slice(at + 1);
  if (path.toLowerCase().startsWith(`${ctx.publishedAs.toLowerCase()}/`)) {
    const rest = path.slice(ctx.publishedAs.length + 1);
    const action = /^actions\/([\w.-]+)$/.exec(rest);
    if (action) return { kind: 'ours-action', id: action[1], ref };
    const workflow = /^\.github\/workflows\/([\w.-]+\.ya?ml)$/.exec(rest);
    if (workflow) return { kind: 'ours-workflow', id: workflow[1], ref };
    return { kind: 'ours-unknown', ref };
  }
  return { kind: 'third-party', ref };
}

function workflowCall(doc: Obj): Obj | undefined {
  const on = doc.on;
  if (!isObj(on)) return undefined;
  const call = on.workflow_call;
  return call === null ? {} : isObj(call) ? call : undefined;
}

function declaredInputs(doc: Obj): Set<string> | undefined {
  const on = doc.on;
  if (!isObj(on)) return undefined;
  const names = new Set<string>();
  let any = false;
  for (const trigger of ['workflow_call', 'workflow_dispatch']) {
    if (!(trigger in on)) continue;
    any = true;
    const inputs = isObj(on[trigger]) ? (on[trigger] as Obj).inputs : undefined;
    if (isObj(inputs)) for (const k of Object.keys(inputs)) names.add(k);
  }
  return any ? names : undefined;
}

/** Permissions the jobs of one of our reusable workflows ask for (the most of each). */
function requestedPermissions(doc: Obj): Map<string, Level> {
  const out = new Map<string, Level>();
  const merge = (p: Map<string, Level> | undefined) => {
    for (const [k, v] of p ?? []) if (levelRank[v] > levelRank[out.get(k) ?? 'none']) out.set(k, v);
  };
  merge(permissionsOf(doc.permissions));
  for (const job of Object.values(isObj(doc.jobs) ? doc.jobs : {}))
    if (isObj(job)) merge(permissionsOf(job.permissions));
  return out;
}

export function checkWorkflow(name: string, doc: Obj, ctx: CheckContext, stats: CheckStats): string[] {
  const problems: string[] = [];
  const say = (where: string, message: string) => problems.push(`${name}: ${where}: ${message}`);
  const call = workflowCall(doc);
  const reusable = call !== undefined;
  const inputs = declaredInputs(doc);
  const secrets = new Set(['GITHUB_TOKEN', ...Object.keys(isObj(call?.secrets) ? (call?.secrets as Obj) : {})]);
  const jobs = isObj(doc.jobs) ? (doc.jobs as Record<string, Obj>) : {};

  const topPermissions = permissionsOf(doc.permissions);
  if (topPermissions?.get('id-token') === 'write')
    say(
      'permissions',
      'id-token: write for the whole workflow; grant it only on the jobs that authenticate (aws-auth, gcp-auth).',
    );

  /** Outputs a job declares: its `outputs:`, or the called workflow's. */
  const jobOutputs = (jobId: string): Set<string> | undefined => {
    const job = jobs[jobId];
    if (!job) return undefined;
    if (typeof job.uses === 'string') {
      const u = parseUses(job.uses, ctx);
      if (u.kind !== 'ours-workflow') return undefined;
      const called = ctx.workflows.get(u.id as string);
      const out = called ? workflowCall(called.doc)?.outputs : undefined;
      return new Set(Object.keys(isObj(out) ? out : {}));
    }
    return new Set(Object.keys(isObj(job.outputs) ? job.outputs : {}));
  };

  const checkExpressionRefs = (
    where: string,
    text: string,
    key: string,
    scope: {
      job?: string;
      needs?: string[];
      steps?: Map<string, { index: number; outputs: Set<string> | null | undefined }>;
      before?: number;
      jobsOutputs?: boolean;
    },
  ) => {
    for (const expr of expressions(text, key)) {
      for (const m of expr.matchAll(/\bsteps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g)) {
        const [, stepId, output] = m as unknown as [string, string, string];
        stats.outputReads++;
        const step = scope.steps?.get(stepId);
        if (!scope.steps) say(where, `reads steps.${stepId}.outputs.${output} where no steps exist.`);
        else if (!step)
          say(where, `reads steps.${stepId}.outputs.${output}, but job ${scope.job} has no step with id ${stepId}.`);
        else if (scope.before !== undefined && step.index >= scope.before)
          say(where, `reads steps.${stepId}.outputs.${output} before step ${stepId} has run.`);
        else if (step.outputs === undefined) stats.uncheckedOutputNames++;
        else if (step.outputs === null)
          say(
            where,
            `reads steps.${stepId}.outputs.${output}, but step ${stepId}'s action.yml is missing, so nothing declares it.`,
          );
        else if (!step.outputs.has(output))
          say(
            where,
            `reads steps.${stepId}.outputs.${output}, which step ${stepId}'s action does not declare (it declares: ${[...step.outputs].join(', ') || 'none'}).`,
          );
      }
      for (const m of expr.matchAll(/\bneeds\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g)) {
        const [, jobId, output] = m as unknown as [string, string, string];
        stats.outputReads++;
        if (!scope.needs?.includes(jobId)) {
          say(where, `reads needs.${jobId}.outputs.${output}, but ${jobId} is not in this job's needs.`);
          continue;
        }
        const declared = jobOutputs(jobId);
        if (declared === undefined) stats.uncheckedOutputNames++;
        else if (!declared.has(output))
          say(
            where,
            `reads needs.${jobId}.outputs.${output}, which job ${jobId} does not declare (it declares: ${[...declared].join(', ') || 'none'}).`,
          );
      }
      for (const m of expr.matchAll(/\bjobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g)) {
        const [, jobId, output] = m as unknown as [string, string, string];
        stats.outputReads++;
        if (!scope.jobsOutputs)
          say(where, `jobs.${jobId}.outputs.${output} can only be read in on.workflow_call.outputs.`);
        const declared = jobOutputs(jobId);
        if (!(jobId in jobs)) say(where, `reads jobs.${jobId}.outputs.${output}, but there is no job ${jobId}.`);
        else if (declared === undefined) stats.uncheckedOutputNames++;
        else if (!declared.has(output))
          say(
            where,
            `reads jobs.${jobId}.outputs.${output}, which job ${jobId} does not declare (it declares: ${[...declared].join(', ') || 'none'}).`,
          );
      }
      for (const m of expr.matchAll(/\binputs\.([A-Za-z_][\w-]*)/g)) {
        const input = m[1] as string;
        if (inputs === undefined)
          say(where, `reads inputs.${input}, but the workflow has no workflow_call or workflow_dispatch trigger.`);
        else if (!inputs.has(input)) say(where, `reads inputs.${input}, which the workflow does not declare.`);
      }
      if (reusable) {
        for (const m of expr.matchAll(/\bsecrets\.([A-Za-z_][\w-]*)/g)) {
          if (!secrets.has(m[1] as string))
            say(
              where,
              `reads secrets.${m[1]}, which workflow_call does not declare (a called workflow sees only declared secrets).`,
            );
        }
      }
    }
  };

  const checkWith = (
    where: string,
    label: string,
    given: Obj,
    declared: Record<string, { required?: boolean; default?: unknown }>,
  ) => {
    for (const k of Object.keys(given)) {
      if (!(k in declared))
        say(
          where,
          `passes input '${k}', which ${label} does not declare (it declares: ${Object.keys(declared).join(', ') || 'none'}).`,
        );
    }
    for (const [k, spec] of Object.entries(declared)) {
      if (spec.required && spec.default === undefined && !(k in given))
        say(where, `does not pass '${k}', which ${label} requires.`);
    }
  };

  // workflow_call outputs map job outputs.
  if (call && isObj(call.outputs)) {
    for (const [out, spec] of Object.entries(call.outputs)) {
      const value = isObj(spec) ? spec.value : undefined;
      if (typeof value !== 'string') {
        say(`on.workflow_call.outputs.${out}`, 'has no value (map it from a job output: ${{ jobs.J.outputs.Y }}).');
        continue;
      }
      checkExpressionRefs(`on.workflow_call.outputs.${out}`, value, 'value', { jobsOutputs: true });
    }
  }

  for (const [jobId, job] of Object.entries(jobs)) {
    if (!isObj(job)) continue;
    const at = `jobs.${jobId}`;
    const needs = typeof job.needs === 'string' ? [job.needs] : Array.isArray(job.needs) ? (job.needs as string[]) : [];
    for (const n of needs) if (!(n in jobs)) say(at, `needs ${n}, which is not a job of this workflow.`);
    const perms = permissionsOf(job.permissions);
    if (reusable && perms === undefined)
      say(at, 'has no permissions: block; every job of a reusable workflow states the least it needs.');

    if (typeof job.uses === 'string') {
      const u = parseUses(job.uses, ctx);
      if (u.kind === 'local')
        say(
          at,
          `calls ${job.uses}; call our workflows by full name (${ctx.publishedAs}/.github/workflows/NAME.yml@${ctx.version}).`,
        );
      else if (u.kind === 'third-party' && !SHA.test(u.ref ?? ''))
        say(at, `calls ${job.uses}; pin third-party workflows by full commit SHA.`);
      else if (u.kind === 'ours-unknown' || u.kind === 'ours-action')
        say(at, `${job.uses} is not one of our reusable workflows (${ctx.publishedAs}/.github/workflows/NAME.yml).`);
      else if (u.kind === 'ours-workflow') {
        stats.workflowCalls++;
        if (u.ref !== ctx.version) say(at, `calls ${job.uses}; use @${ctx.version}.`);
        const called = ctx.workflows.get(u.id as string);
        const calledCall = called ? workflowCall(called.doc) : undefined;
        if (!called || !calledCall) {
          say(
            at,
            `calls ${job.uses}, but .github/workflows/${u.id} does not exist here (or has no workflow_call trigger).`,
          );
        } else {
          checkWith(
            at,
            `workflow ${u.id}`,
            isObj(job.with) ? job.with : {},
            (isObj(calledCall.inputs) ? calledCall.inputs : {}) as Record<string, { required?: boolean }>,
          );
          const declaredSecrets = (isObj(calledCall.secrets) ? calledCall.secrets : {}) as Record<
            string,
            { required?: boolean }
          >;
          if (job.secrets !== 'inherit') {
            const given = isObj(job.secrets) ? job.secrets : {};
            for (const k of Object.keys(given))
              if (!(k in declaredSecrets)) say(at, `passes secret '${k}', which workflow ${u.id} does not declare.`);
            for (const [k, spec] of Object.entries(declaredSecrets))
              if (spec?.required && !(k in given))
                say(at, `does not pass secret '${k}', which workflow ${u.id} requires.`);
          }
          const granted = perms ?? topPermissions;
          if (granted) {
            for (const [k, level] of requestedPermissions(called.doc)) {
              if (levelRank[level] > levelRank[granted.get(k) ?? 'none'])
                say(
                  at,
                  `grants ${k}: ${granted.get(k) ?? 'none'}, but workflow ${u.id} asks for ${k}: ${level} (the call would fail).`,
                );
            }
          }
        }
      }
      for (const s of strings({ with: job.with, secrets: job.secrets, if: job.if, concurrency: job.concurrency }, at))
        checkExpressionRefs(s.path, s.text, s.key, { job: jobId, needs });
      continue;
    }

    const steps = Array.isArray(job.steps) ? (job.steps as Obj[]) : [];
    const stepIds = new Map<string, { index: number; outputs: Set<string> | null | undefined }>();
    let authenticates = false;
    const deploys = new Set<string>();
    steps.forEach((step, index) => {
      if (typeof step.id === 'string') {
        // undefined: not ours (names unknowable); null: ours, but its action.yml is missing.
        let outputs: Set<string> | null | undefined;
        if (typeof step.uses === 'string') {
          const u = parseUses(step.uses, ctx);
          if (u.kind === 'ours-action') {
            const action = ctx.actions.get(u.id as string);
            outputs = action ? new Set(Object.keys(action.outputs ?? {})) : null;
          }
        }
        stepIds.set(step.id, { index, outputs });
      }
    });
    for (const s of strings(
      {
        if: job.if,
        env: job.env,
        'runs-on': job['runs-on'],
        environment: job.environment,
        concurrency: job.concurrency,
        strategy: job.strategy,
      },
      at,
    )) {
      checkExpressionRefs(s.path, s.text, s.key, { job: jobId, needs });
    }
    if (isObj(job.outputs))
      for (const s of strings(job.outputs, `${at}.outputs`))
        checkExpressionRefs(s.path, s.text, s.key, { job: jobId, needs, steps: stepIds });

    steps.forEach((step, index) => {
      const where = `${at}.steps[${index}]${typeof step.id === 'string' ? ` (${step.id})` : typeof step.uses === 'string' ? ` (${step.uses})` : ''}`;
      if (typeof step.uses === 'string') {
        const u = parseUses(step.uses, ctx);
        if (u.kind === 'local')
          say(
            where,
            `uses ${step.uses}; in a shared workflow ./ is the caller's repository: use ${ctx.publishedAs}/actions/NAME@${ctx.version}.`,
          );
        else if (u.kind === 'ours-unknown' || u.kind === 'ours-workflow')
          say(where, `${step.uses} is not one of our actions (${ctx.publishedAs}/actions/NAME).`);
        else if (u.kind === 'third-party' && !SHA.test(u.ref ?? ''))
          say(where, `uses ${step.uses}; pin third-party actions by full commit SHA (and the tag as a comment).`);
        else if (u.kind === 'docker' && !step.uses.includes('@sha256:'))
          say(where, `uses ${step.uses}; pin container actions by digest.`);
        else if (u.kind === 'ours-action') {
          stats.actionUses++;
          if (u.ref !== ctx.version) say(where, `uses ${step.uses}; use @${ctx.version}.`);
          const action = ctx.actions.get(u.id as string);
          if (!action) say(where, `uses ${step.uses}, but actions/${u.id}/action.yml does not exist here.`);
          else checkWith(where, u.id as string, isObj(step.with) ? step.with : {}, action.inputs ?? {});
          if (AUTH_ACTIONS.has(u.id as string)) authenticates = true;
          if (DEPLOY_ACTIONS.has(u.id as string)) deploys.add(u.id as string);
        }
      }
      if (typeof step.run === 'string' && step.run.includes('${{')) {
        say(where, 'interpolates ${{ }} into run:; pass the value through env: and use "$VAR" in the script.');
      }
      for (const s of strings({ ...step, run: undefined }, where))
        checkExpressionRefs(s.path, s.text, s.key, { job: jobId, needs, steps: stepIds, before: index });
    });

    const idToken = (perms ?? topPermissions)?.get('id-token');
    if (authenticates && idToken !== 'write')
      say(at, 'authenticates (aws-auth / gcp-auth) without permissions: id-token: write.');
    if (!authenticates && perms?.get('id-token') === 'write')
      say(at, 'has id-token: write but no aws-auth / gcp-auth step; drop it.');
    if (deploys.size > 0) {
      const what = [...deploys].join(', ');
      const concurrency = job.concurrency;
      if (!isObj(concurrency)) {
        say(
          at,
          `runs ${what} without a concurrency group with cancel-in-progress: false; give it one per environment so that two deploys to one environment never race, and a rollout is never cancelled half-way by the next run.`,
        );
      } else if (concurrency['cancel-in-progress'] !== false) {
        say(
          at,
          `runs ${what} with cancel-in-progress: ${String(concurrency['cancel-in-progress'] ?? 'unset')}; set it to false, so that the next run waits instead of cancelling a rollout half-way.`,
        );
      }
      if (job.environment === undefined)
        say(
          at,
          `runs ${what} without environment:; bind the job to the GitHub Environment it deploys to, so that its reviewers and wait timer gate it and its OIDC subject names it.`,
        );
    }
  }
  return problems;
}
