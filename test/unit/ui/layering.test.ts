// The UI is a client of the core API: nothing under src/ui reaches past it into the runtime,
// CRIU, the store or the stack state, and the Ink code imports nothing but the core's index,
// the UI's own modules, react and ink. The core never imports ink or react.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { packageRoot } from '../../../src/paths.js';

const src = join(packageRoot, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.tsx?$/.test(f) ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1] ?? m[2]!);
}

/** An import as a path under src/ ("core/index.ts"), or the package name. */
function target(file: string, spec: string): string {
  if (!spec.startsWith('.')) return spec;
  return relative(src, resolve(dirname(file), spec)).replace(/\.js$/, '');
}

t.test('src/ui imports nothing from the runtime, CRIU, the store or the stack state', async (t) => {
  const bad: string[] = [];
  for (const f of files(join(src, 'ui'))) {
    for (const spec of imports(f)) {
      const to = target(f, spec);
      if (/^(runtime|criu|store|state)(\/|$)/.test(to)) bad.push(`${relative(src, f)} imports ${spec}`);
    }
  }
  t.same(bad, []);
});

t.test('src/ui/ink imports only the core index, the UI, react and ink', async (t) => {
  const inkFiles = files(join(src, 'ui/ink'));
  t.ok(inkFiles.length >= 8, `${inkFiles.length} files checked`);
  const bad: string[] = [];
  for (const f of inkFiles) {
    for (const spec of imports(f)) {
      const to = target(f, spec);
      const ok = to === 'core/index' || /^ui\//.test(to) || ['react', 'ink'].includes(to);
      if (!ok) bad.push(`${relative(src, f)} imports ${spec}`);
    }
  }
  t.same(bad, []);
});

t.test('the UI modules the Ink code uses import only the core index and each other', async (t) => {
  const shared = readdirSync(join(src, 'ui')).filter((f) => /\.tsx?$/.test(f)).map((f) => join(src, 'ui', f));
  t.ok(shared.length >= 3, `${shared.length} files checked`);
  const bad: string[] = [];
  for (const f of shared) {
    for (const spec of imports(f)) {
      const to = target(f, spec);
      if (to !== 'core/index' && !/^ui\/[^/]+$/.test(to)) bad.push(`${relative(src, f)} imports ${spec}`);
    }
  }
  t.same(bad, []);
});

t.test('the core never imports ink or react', async (t) => {
  const bad = files(join(src, 'core')).flatMap((f) => imports(f).filter((s) => /^(ink|react)(\/|$)/.test(s)).map((s) => `${relative(src, f)} imports ${s}`));
  t.same(bad, []);
});

t.test('the check sees imports (it can fail)', async (t) => {
  t.same(imports(join(src, 'ui/ink/run.tsx')).sort(), ['../../core/index.js', '../stack-controller.js', './app.js', 'ink', 'react'].sort());
});
