import { describe, expect, it } from '@jest/globals';
import { decodeRecord, describeRecord, encodeRecord } from '../../../src/delivery/record.js';
import type { RolloutRecord } from '../../../src/delivery/types.js';

const RECORD: RolloutRecord = {
  id: '4242.1-mio3k2x',
  engine: 'ecs-task-set',
  phase: 'shifting',
  stable: 'ecs-svc/1234567890123456789',
  canary: 'ecs-svc/9876543210987654321',
  weight: 50,
  step: 1,
  at: 1764000000,
  run: '4242.1',
};

describe('rollout record', () => {
  it('round-trips through a text that an ECS tag value can hold', () => {
    const text = encodeRecord(RECORD);
    expect(text).toMatch(/^[A-Za-z0-9 +\-=._:/@]+$/);
    expect(text.length).toBeLessThanOrEqual(256);
    expect(decodeRecord(text)).toEqual(RECORD);
  });

  it('keeps an ARN intact', () => {
    const record = {
      ...RECORD,
      stable: 'arn:aws:ecs:us-east-1:111111111111:task-definition/open-webui:12',
      run: undefined,
    };
    delete record.run;
    expect(decodeRecord(encodeRecord(record))).toEqual(record);
  });

  it('refuses to encode a value a tag cannot hold', () => {
    expect(() => encodeRecord({ ...RECORD, canary: 'a,b' })).toThrow('field c has characters a tag cannot hold');
  });

  it.each([
    '',
    'v2 id=x',
    'v1 id=x e=y p=unknown w=0 i=0 t=1',
    'v1 e=y p=shifting w=0 i=0 t=1',
    'v1 id=x e=y p=shifting w=fifty i=0 t=1',
    'v1 garbage',
  ])('reads %j as no record', (text) => {
    expect(decodeRecord(text)).toBeUndefined();
  });

  it('describes where the rollout stands', () => {
    expect(describeRecord(RECORD)).toBe(
      'rollout 4242.1-mio3k2x (ecs-task-set), shifting at step 2 with up to 50% on the new version (ecs-svc/9876543210987654321; stable ecs-svc/1234567890123456789), written by run 4242.1 at 2025-11-24T16:00:00.000Z',
    );
    expect(describeRecord({ ...RECORD, phase: 'starting', canary: '' })).toContain('starting (no traffic moved yet)');
  });
});

describe('paused records', () => {
  it('round-trips the pause deadline and the GitHub Deployment, and says until when it is paused', () => {
    const paused: RolloutRecord = {
      ...RECORD,
      phase: 'paused',
      weight: 25,
      pauseUntil: 1764086400,
      githubDeployment: 9001,
    };
    const text = encodeRecord(paused);
    expect(text).toContain(' pu=1764086400 gd=9001');
    expect(decodeRecord(text)).toEqual(paused);
    expect(describeRecord(paused)).toContain(
      'paused at step 2 with 25% on the new version until 2025-11-25T16:00:00.000Z',
    );
  });

  it('drops a GitHub Deployment id that is not a number, keeping the record', () => {
    const decoded = decodeRecord(`${encodeRecord(RECORD)} gd=../../x`);
    expect(decoded).toEqual(RECORD);
  });
});
