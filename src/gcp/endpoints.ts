/**
 * Google API base URLs. Production always uses the real services; the test suite points
 * them at local stand-ins with PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS
 * (`sts=http://127.0.0.1:1234,iamcredentials=http://...`), which is not a supported
 * setting and is announced in the log whenever it is used.
 */
export type GoogleService = 'sts' | 'iamcredentials' | 'container' | 'monitoring';

export const TEST_ENDPOINTS_VARIABLE = 'PLATFORM_ACTIONS_TEST_GOOGLE_ENDPOINTS';

export function googleEndpoint(service: GoogleService, env: NodeJS.ProcessEnv = process.env): string {
  const overrides = env[TEST_ENDPOINTS_VARIABLE];
  if (overrides) {
    for (const pair of overrides.split(',')) {
      const [name, url] = pair.split('=', 2).map((s) => s.trim());
      if (name === service && url) return url.replace(/\/$/, '');
    }
  }
  return `https://${service}.googleapis.com`;
}

/** True when any Google endpoint is overridden (the action then says so). */
export function endpointsOverridden(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env[TEST_ENDPOINTS_VARIABLE]);
}
