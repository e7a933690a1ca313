// The sets pane's tree: children under the set they were restored from, in the order taken.
import t from 'tap';
import { lineageRows } from '../../../src/ui/lineage.js';

const s = (name: string, createdAt: string, parent?: string) => ({ name, createdAt, ...(parent ? { parent } : {}) });

t.test('a tree of sets by parent', async (t) => {
  const sets = [
    s('warm', '2026-01-01T00:00:01Z'),
    s('hot', '2026-01-01T00:00:03Z', 'warm'),
    s('cold', '2026-01-01T00:00:00Z'),
    s('hotter', '2026-01-01T00:00:04Z', 'hot'),
    s('warm2', '2026-01-01T00:00:05Z', 'warm'),
    s('orphan', '2026-01-01T00:00:06Z', 'removed-set'),
  ];
  const rows = lineageRows(sets);
  t.same(rows.map((r) => r.prefix + r.set.name), ['cold', 'warm', '├─ hot', '│  └─ hotter', '└─ warm2', 'orphan']);
  t.same(rows.map((r) => r.depth), [0, 0, 1, 2, 1, 0]);
  t.same(lineageRows(sets, true).map((r) => r.prefix + r.set.name), ['cold', 'warm', '|- hot', '|  `- hotter', '`- warm2', 'orphan']);
});

t.test('a parent cycle (never written by ckpt) loses no set', async (t) => {
  const rows = lineageRows([s('a', '1', 'b'), s('b', '2', 'a')]);
  t.same(rows.map((r) => r.set.name).sort(), ['a', 'b']);
});
