/**
 * The import structure, checked from the code (docs/ARCHITECTURE.md): no import cycles,
 * and no import from a lower layer to a higher one. Every static `import … from`,
 * `export … from` and `import('literal')` of core/, electron/, renderer/src/, scripts/ and
 * bin/ is read; the checker is also run on small synthetic graphs to show it detects what
 * it claims to.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Layers, low to high. A file may import its own layer or lower ones. Prefixes are
 * matched longest first.
 */
export const LAYERS: readonly [number, readonly string[]][] = [
  [0, ['core/errors.ts']],
  [1, ['core/model/', 'core/data/', 'core/transport/', 'core/report/']],
  [2, ['core/he/', 'core/ring/', 'core/gc/', 'core/train/']],
  [3, ['core/protocol/']],
  [4, ['core/schemes/', 'core/baselines/']],
  [5, ['core/runtime/']],
  [6, ['core/server/', 'core/bridge/']],
  [7, ['core/cli/', 'electron/', 'renderer/', 'scripts/', 'bin/']],
];

export function layerOf(file: string): number | undefined {
  let best: [number, number] | undefined;
  for (const [rank, prefixes] of LAYERS) {
    for (const p of prefixes) if (file.startsWith(p) && (!best || p.length > best[1])) best = [rank, p.length];
  }
  return best?.[0];
}

function walk(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|js|svelte)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** One capture group per import form: `import|export … from 'x'`, `import('x')`, `import 'x'`. */
const IMPORT_RE = new RegExp(
  [
    /(?:^|\n)\s*(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/.source,
    /import\(\s*['"]([^'"]+)['"]\s*\)/.source,
    /(?:^|\n)\s*import\s*['"]([^'"]+)['"]/.source,
  ].join('|'),
  'g',
);

/** The project's import graph: file → files it imports (relative specifiers resolved, packages ignored). */
export function importGraph(): Map<string, string[]> {
  const files = ['core', 'electron', 'renderer/src', 'scripts', 'bin'].flatMap((d) => walk(join(ROOT, d), []));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec || !spec.startsWith('.')) continue;
      deps.push(relative(ROOT, resolve(dirname(f), spec)));
    }
    graph.set(relative(ROOT, f), deps);
  }
  return graph;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
export function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>(),
    low = new Map<string, number>(),
    onStack = new Set<string>(),
    stack: string[] = [];
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

/** Imports from a lower layer to a higher one, as "from → to". */
export function upwardImports(graph: ReadonlyMap<string, readonly string[]>): string[] {
  const bad: string[] = [];
  for (const [from, deps] of graph) {
    const lf = layerOf(from);
    for (const to of deps) {
      const lt = layerOf(to);
      if (lf !== undefined && lt !== undefined && lt > lf) bad.push(`${from} (layer ${lf}) → ${to} (layer ${lt})`);
    }
  }
  return bad;
}

describe('import structure', () => {
  const graph = importGraph();

  it('reads the whole tree (every core folder has files with imports)', () => {
    for (const d of ['core/model/', 'core/he/', 'core/protocol/', 'core/schemes/', 'core/runtime/', 'core/cli/']) {
      expect(
        [...graph.keys()].some((f) => f.startsWith(d) && graph.get(f)!.length > 0),
        d,
      ).toBe(true);
    }
    for (const f of graph.keys()) if (f.startsWith('core/')) expect(layerOf(f), `${f} has no layer`).toBeDefined();
  });

  it('has no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('has no import from a lower layer to a higher one', () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it('core never imports electron/ or renderer/', () => {
    const bad = [...graph].flatMap(([f, deps]) =>
      f.startsWith('core/')
        ? deps.filter((d) => d.startsWith('electron/') || d.startsWith('renderer/')).map((d) => `${f} → ${d}`)
        : [],
    );
    expect(bad).toEqual([]);
  });

  it('the checks have power: a synthetic cycle and an upward import are found', () => {
    const g = new Map<string, string[]>([
      ['core/he/a.ts', ['core/he/b.ts']],
      ['core/he/b.ts', ['core/he/c.ts']],
      ['core/he/c.ts', ['core/he/a.ts', 'core/runtime/session.ts']],
      ['core/runtime/session.ts', []],
    ]);
    expect(cycles(g)).toEqual([['core/he/a.ts', 'core/he/b.ts', 'core/he/c.ts']]);
    expect(upwardImports(g)).toEqual(['core/he/c.ts (layer 2) → core/runtime/session.ts (layer 5)']);
    // and the regular expression sees each import form
    const forms =
      "import { a } from './x.ts';\nexport { b } from './y.ts';\nconst m = await import('./z.ts');\nimport './w.ts';";
    expect([...forms.matchAll(IMPORT_RE)].map((m) => m[1] ?? m[2] ?? m[3])).toEqual([
      './x.ts',
      './y.ts',
      './z.ts',
      './w.ts',
    ]);
  });
});
