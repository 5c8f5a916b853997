import { run } from '../../github/run.js';
import { main } from './main.js';
import { post } from './post.js';

await run({ main, post });
