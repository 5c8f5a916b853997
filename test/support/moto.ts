import { beforeEach } from '@jest/globals';

/** The moto_server that belongs to this jest worker (started by global-setup). */
export function motoEndpoint(): string {
  const endpoints = (process.env.PA_TEST_MOTO_ENDPOINTS ?? '').split(',').filter(Boolean);
  if (endpoints.length === 0) throw new Error('No moto_server: run the tests through jest (global-setup starts it).');
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return endpoints[(worker - 1) % endpoints.length] as string;
}

/** Empties every service's state in this worker's moto. */
export async function resetMoto(endpoint = motoEndpoint()): Promise<void> {
  const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status}`);
}

/** Registers a reset before every test of the calling file and returns the endpoint. */
export function useMoto(): string {
  const endpoint = motoEndpoint();
  beforeEach(() => resetMoto(endpoint));
  return endpoint;
}

/** Client settings for talking to moto directly from a test. */
export function motoClientConfig(endpoint = motoEndpoint(), region = 'us-east-1') {
  return {
    region,
    endpoint,
    maxAttempts: 1,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}
