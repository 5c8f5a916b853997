/**
 * rollback.yml binds a rollback to the reviewer-less gate environment only when it returns
 * to the last known good revision (`to: previous`); an explicit `to:` or
 * allow-any-revision runs in the environment itself, so its required reviewers approve it.
 */
import { describe, expect, it } from '@jest/globals';
import { render } from '../../support/expressions.js';
import { callInputs, loadWorkflow } from '../../support/workflow-steps.js';

const doc = loadWorkflow('rollback.yml');
const job = doc.jobs.rollback!;
const boundTo = (given: Record<string, unknown>) =>
  render(job.environment, { inputs: callInputs(doc, { environment: 'production', service: 'open-webui', ...given }) });

describe('rollback.yml: which environment a rollback waits for', () => {
  it('uses the reviewer-less gate only for to: previous', () => {
    expect(boundTo({ 'gate-environment': 'production-rollback' })).toBe('production-rollback');
    expect(boundTo({ 'gate-environment': 'production-rollback', to: 'previous' })).toBe('production-rollback');
    expect(boundTo({ 'gate-environment': 'production-rollback', to: 'open-webui:7' })).toBe('production');
    expect(boundTo({ 'gate-environment': 'production-rollback', to: 'previous', 'allow-any-revision': true })).toBe(
      'production',
    );
    expect(
      boundTo({ 'gate-environment': 'production-rollback', to: 'other-family:1', 'allow-any-revision': 'true' }),
    ).toBe('production');
    expect(boundTo({})).toBe('production');
  });

  it('passes allow-any-revision to the action', () => {
    const step = job.steps?.find((s) => s.id === 'rollback');
    expect(step?.with?.['allow-any-revision']).toBe('${{ inputs.allow-any-revision }}');
  });

  it('the starter workflow leaves to: previous as the default and names the gate', () => {
    const starter = loadWorkflow('workflows-templates/rollback.yml') as unknown as {
      on: { workflow_dispatch: { inputs: Record<string, { default?: string }> } };
      jobs: { rollback: { with: Record<string, string> } };
    };
    expect(starter.on.workflow_dispatch.inputs.to?.default).toBe('previous');
    expect(starter.jobs.rollback.with['gate-environment']).toBe('${{ inputs.environment }}-rollback');
    expect(starter.jobs.rollback.with).not.toHaveProperty('allow-any-revision');
  });
});
