import { run } from '../../github/run.js';
import { readSettings } from './settings.js';

await run({
  settings: readSettings,
  main: async (settings, ctx) => (await import('./main.js')).main(settings, ctx),
});
