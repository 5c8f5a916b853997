import { describe, expect, it } from '@jest/globals';
import { STSClient } from '@aws-sdk/client-sts';
import { assertRegion, awsClient, endpointFor } from '../../../src/aws/client.js';
import { parseRoleArn } from '../../../src/aws/arn.js';

describe('AWS client factory', () => {
  it('prefers the service-specific endpoint variable, then the global one', () => {
    const env = { AWS_ENDPOINT_URL: 'http://all:1', AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: 'http://elb:2' };
    expect(endpointFor('Elastic Load Balancing v2', env)).toBe('http://elb:2');
    expect(endpointFor('ECS', env)).toBe('http://all:1');
    expect(endpointFor('ECS', {})).toBeUndefined();
    expect(endpointFor('ECS', { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeUndefined();
  });

  it('builds a client with region, retries and endpoint', async () => {
    const client = awsClient(STSClient, 'STS', {
      region: 'eu-west-1',
      maxAttempts: 7,
      env: { AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:9' },
    });
    expect(await client.config.region()).toBe('eu-west-1');
    expect(await client.config.maxAttempts()).toBe(7);
    const endpoint = await client.config.endpoint?.();
    expect(`${endpoint?.protocol}//${endpoint?.hostname}:${endpoint?.port}`).toBe('http://127.0.0.1:9');
    client.destroy();
  });

  it.each(['us-east-1', 'eu-central-2', 'us-gov-west-1', 'cn-north-1', 'ap-southeast-4', 'us-isob-east-1'])(
    'accepts region %s',
    (r) => {
      expect(assertRegion(r)).toBe(r);
    },
  );

  it.each(['us-east', 'US-EAST-1', 'europe', ''])('rejects region %j with an example', (r) => {
    expect(() => assertRegion(r)).toThrow(/is not an AWS region name/);
  });
});

describe('role ARNs', () => {
  it('splits a role ARN with a path', () => {
    expect(parseRoleArn('arn:aws:iam::111111111111:role/ci/github-deploy')).toEqual({
      arn: 'arn:aws:iam::111111111111:role/ci/github-deploy',
      partition: 'aws',
      accountId: '111111111111',
      path: '/ci/',
      name: 'github-deploy',
    });
  });

  it.each([
    'github-deploy',
    'arn:aws:iam::111111111111:user/bob',
    'arn:aws:sts::111111111111:assumed-role/x/y',
    'arn:aws:iam::1111:role/x',
  ])('rejects %s', (text) => {
    expect(() => parseRoleArn(text)).toThrow('is not an IAM role ARN');
  });
});
