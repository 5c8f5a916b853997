import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { folderCycles, importCycles, importGraph } from '../../../scripts/lib/import-graph.js';
import { ROOT } from '../../../scripts/lib/actions.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'pa-imports-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, 'src', name, '..'), { recursive: true });
    writeFileSync(join(root, 'src', name), text);
  }
  return root;
}

describe('import cycles', () => {
  test('src/ has none, type-only imports included', () => {
    const graph = importGraph(ROOT);
    expect(graph.size).toBeGreaterThan(100);
    expect(importCycles(graph)).toEqual([]);
  });

  test('no barrels: every import names the module that defines what it takes', () => {
    const barrels = [...importGraph(ROOT)].flatMap(([file, targets]) =>
      targets.filter((t) => t.endsWith('/index.ts') && !t.startsWith('src/actions/')).map((t) => `${file} → ${t}`),
    );
    expect(barrels).toEqual([]);
  });

  test('no two domain folders of src/ import each other, through any files (src/actions left out)', () => {
    expect(folderCycles(importGraph(ROOT))).toEqual([]);
  });

  test('a cycle between folders is found with the imports that make it, though no file cycle exists', () => {
    // delivery → notify through one file, notify → delivery through another.
    const files: Record<string, string> = {
      'delivery/step.ts': "import { send } from '../notify/send.js';\nexport const step = send;\n",
      'delivery/types.ts': 'export type Result = string;\n',
      'notify/send.ts': 'export const send = 1;\n',
      'notify/events.ts': "import type { Result } from '../delivery/types.js';\nexport type E = Result;\n",
      'actions/deploy/main.ts': "import { step } from '../../delivery/step.js';\n",
      'util/x.ts': "import { send } from '../notify/send.js';\nexport const x = send;\n",
    };
    const graph = importGraph(tree(files));
    expect(importCycles(graph)).toEqual([]);
    expect(folderCycles(graph)).toEqual([
      {
        folders: ['src/delivery', 'src/notify', 'src/delivery'],
        imports: ['src/delivery/step.ts → src/notify/send.ts', 'src/notify/events.ts → src/delivery/types.ts'],
      },
    ]);
    // Arrows one way (the action above both, util below): no cycle.
    const oneWay = tree({ ...files, 'notify/events.ts': 'export type E = string;\n' });
    expect(folderCycles(importGraph(oneWay))).toHaveLength(0);
  });

  test('a cycle through a type-only import is found, with its path', () => {
    const root = tree({
      'k8s/errors.ts': "import type { Kind } from './resources.js';\nexport const x = 1;\n",
      'k8s/resources.ts': "import { x } from './errors.js';\nexport type Kind = string;\n",
      'util/free.ts': "export { x } from '../k8s/errors.js';\n",
    });
    expect(importCycles(importGraph(root))).toEqual([
      ['src/k8s/errors.ts', 'src/k8s/resources.ts', 'src/k8s/errors.ts'],
    ]);
  });

  test('a diamond is not a cycle', () => {
    const root = tree({
      'a.ts': "import { b } from './b.js';\nimport { c } from './c.js';\n",
      'b.ts': "import { d } from './d.js';\n",
      'c.ts': "import { d } from './d.js';\n",
      'd.ts': 'export const d = 1;\n',
    });
    expect(importCycles(importGraph(root))).toEqual([]);
  });
});
