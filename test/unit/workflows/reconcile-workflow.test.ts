/**
 * reconcile.yml: one matrix job per cluster, each in its own queue-max concurrency group
 * (never behind a deploy's bake, never dropped), passing the cluster to the right input
 * per platform; the starter runs it every 10 minutes and by hand, per environment.
 */
import { describe, expect, it } from '@jest/globals';
import { evaluate, render } from '../../support/expressions.js';
import { callInputs, loadWorkflow } from '../../support/workflow-steps.js';

const doc = loadWorkflow('reconcile.yml');
const job = doc.jobs.reconcile!;
const step = job.steps?.find((s) => s.id === 'reconcile');
const given = { environment: 'production', clusters: '["webui","batch"]' };

describe('reconcile.yml', () => {
  it('fans out one job per cluster from the clusters input', () => {
    const matrix = (job as unknown as { strategy: { matrix: { cluster: string } } }).strategy.matrix;
    expect(evaluate(matrix.cluster.replace(/^\$\{\{\s*|\s*\}\}$/g, ''), { inputs: callInputs(doc, given) })).toEqual([
      'webui',
      'batch',
    ]);
  });

  it('puts each cluster in its own queue-max group, apart from the deploy and rollback groups', () => {
    const group = render(job.concurrency?.group, { inputs: callInputs(doc, given), matrix: { cluster: 'webui' } });
    expect(group).toBe('platform-actions-reconcile-production-webui');
    expect(job.concurrency?.['cancel-in-progress']).toBe(false);
    expect((job.concurrency as Record<string, unknown>).queue).toBe('max');
  });

  it('hands the matrix cluster to clusters on ECS and to cluster on GKE', () => {
    const ctx = (platform: string) => ({
      inputs: callInputs(doc, { ...given, platform }),
      matrix: { cluster: 'webui' },
    });
    expect(render(step?.with?.clusters, ctx('ecs'))).toBe('webui');
    expect(render(step?.with?.cluster, ctx('ecs'))).toBe('');
    expect(render(step?.with?.clusters, ctx('gke'))).toBe('');
    expect(render(step?.with?.cluster, ctx('gke'))).toBe('webui');
    expect(
      render(step?.with?.['dry-run'], { inputs: callInputs(doc, { ...given, 'dry-run': true }), matrix: {} }),
    ).toBe('true');
    expect(render(step?.with?.environment, ctx('ecs'))).toBe('production');
  });

  it('binds the job to the reviewer-less gate when one is given', () => {
    expect(
      render(job.environment, { inputs: callInputs(doc, { ...given, 'gate-environment': 'production-rollback' }) }),
    ).toBe('production-rollback');
    expect(render(job.environment, { inputs: callInputs(doc, given) })).toBe('production');
  });

  it('the starter runs every 10 minutes and by hand, one job per environment', () => {
    const starter = loadWorkflow('workflows-templates/reconcile.yml') as unknown as {
      on: { schedule: Array<{ cron: string }>; workflow_dispatch: unknown };
      jobs: { reconcile: { with: Record<string, string>; strategy: { matrix: { environment: string[] } } } };
    };
    expect(starter.on.schedule).toEqual([{ cron: '*/10 * * * *' }]);
    expect(starter.on.workflow_dispatch).toBeDefined();
    expect(starter.jobs.reconcile.strategy.matrix.environment).toEqual(['staging', 'production']);
    const w = starter.jobs.reconcile.with;
    expect(render(w.clusters, { matrix: { environment: 'staging' } })).toBe('["webui-staging"]');
    expect(render(w.clusters, { matrix: { environment: 'production' } })).toBe('["webui"]');
    expect(render(w['dry-run'], { inputs: {}, matrix: { environment: 'staging' } })).toBe('false');
  });
});
