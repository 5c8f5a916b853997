import { run } from '../../github/run.js';
import { readSettings } from './settings.js';

await run({
  settings: readSettings,
  main: async (settings) => (await import('./main.js')).main(settings),
  post: async () => (await import('./post.js')).post(),
});
