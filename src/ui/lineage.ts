// Sets as a lineage tree: a set taken from a stack that was restored from another set is that
// set's child (SetInfo.parent). Sets whose parent is gone, or that have none, are roots.
// Siblings and roots are in the order they were taken.

export interface LineageInput {
  name: string;
  parent?: string;
  createdAt: string;
}

export interface LineageRow<T extends LineageInput> {
  set: T;
  depth: number;
  /** the tree's drawing before the name: "", "├─ ", "│  └─ " */
  prefix: string;
}

export function lineageRows<T extends LineageInput>(sets: T[], ascii = false): LineageRow<T>[] {
  const names = new Set(sets.map((s) => s.name));
  const byAge = [...sets].sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.name.localeCompare(b.name)));
  const children = new Map<string, T[]>();
  const roots: T[] = [];
  for (const s of byAge) {
    // A set named as its own ancestor cannot happen in a store, but must not loop here.
    if (s.parent && names.has(s.parent) && s.parent !== s.name) {
      const list = children.get(s.parent) ?? [];
      list.push(s);
      children.set(s.parent, list);
    } else roots.push(s);
  }
  const [tee, elbow, pipe] = ascii ? ['|- ', '`- ', '|  '] : ['├─ ', '└─ ', '│  '];
  const out: LineageRow<T>[] = [];
  const seen = new Set<string>();
  const walk = (s: T, depth: number, lead: string, branch: string): void => {
    if (seen.has(s.name)) return;
    seen.add(s.name);
    out.push({ set: s, depth, prefix: lead + branch });
    const kids = children.get(s.name) ?? [];
    const childLead = depth === 0 ? '' : lead + (branch === tee ? pipe : '   ');
    kids.forEach((k, i) => walk(k, depth + 1, childLead, i === kids.length - 1 ? elbow : tee));
  };
  for (const r of roots) walk(r, 0, '', '');
  // parents in a cycle never reach a root: show them flat rather than lose them
  for (const s of byAge) if (!seen.has(s.name)) walk(s, 0, '', '');
  return out;
}
