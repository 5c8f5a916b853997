/**
 * Bundle-time stand-in for `undici` (see the `paths` note in tsconfig.json). Our code
 * never asks @actions/http-client for a proxy dispatcher; if anything ever does, it
 * fails loudly here instead of silently bypassing the proxy.
 */
export class ProxyAgent {
  constructor() {
    throw new Error(
      'platform-actions bundles do not include undici, so HttpClient.getAgentDispatcher() is unavailable. ' +
        'This is a bug in platform-actions: please report it.',
    );
  }
}
