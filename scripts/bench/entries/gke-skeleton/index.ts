/**
 * Bench entry shaped like gke-deploy will be: run() and input checks in the entry chunk,
 * everything else (core, analysis, gcp, k8s) in a lazily loaded chunk.
 */
import { inputs } from '../../../../src/github/inputs.js';
import { run } from '../../../../src/github/run.js';

await run({
  settings: () => ({ kubeconfig: inputs.required('kubeconfig') }),
  main: async (settings) => (await import('./main.js')).main(settings),
});
