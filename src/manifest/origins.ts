// Origins: where each value of a merged manifest was written. A manifest built from several
// files (-f, the override file, extends, include) is one data tree, but a problem found in it
// must still name the file and line its value came from. Beside the merged value the loader
// keeps a tree of origins: a node says "this value is the one at `at` in source `src`"; a node
// without `kids` stands for its whole subtree as written (the common case: nothing to store),
// and a merged mapping or list lists its children, each with its own origin.
import { setOwn } from './canonical.js';
import type { Origin, Path, PathSegment } from './problems.js';

export interface OriginNode extends Origin {
  kids?: Map<string, OriginNode>;
}

/** A value with its origins. */
export interface Tracked {
  v: unknown;
  o: OriginNode;
}

export function leaf(src: number, at: Path = []): OriginNode {
  return { src, at };
}

/** The origin of the child `seg` of the value `n` is the origin of. */
export function kid(n: OriginNode, seg: PathSegment): OriginNode {
  return n.kids?.get(String(seg)) ?? { src: n.src, at: [...n.at, seg] };
}

/** Where the value at `path` (a path in the merged value) was written. */
export function originAt(n: OriginNode, path: Path): Origin {
  let cur = n;
  for (const seg of path) cur = kid(cur, seg);
  return { src: cur.src, at: cur.at };
}

/** The children of a tracked mapping or list, each with its origin. */
export function entries(t: Tracked): [string, Tracked][] {
  if (Array.isArray(t.v)) return t.v.map((v, i) => [String(i), { v, o: kid(t.o, i) }]);
  if (t.v !== null && typeof t.v === 'object') return Object.entries(t.v).map(([k, v]) => [k, { v, o: kid(t.o, k) }]);
  return [];
}

/** A mapping built from tracked values, keeping their origins; its own origin is `self`'s. */
export function trackedMap(self: Origin, items: Iterable<[string, Tracked]>): Tracked {
  const v: Record<string, unknown> = {};
  const kids = new Map<string, OriginNode>();
  for (const [k, t] of items) {
    setOwn(v, k, t.v); // keys are user input: `__proto__` is a key like any other
    kids.set(k, t.o);
  }
  return { v, o: { src: self.src, at: self.at, kids } };
}

/** A list built from tracked values, keeping their origins. */
export function trackedList(self: Origin, items: readonly Tracked[]): Tracked {
  const kids = new Map(items.map((t, i) => [String(i), t.o] as const));
  return { v: items.map((t) => t.v), o: { src: self.src, at: self.at, kids } };
}
