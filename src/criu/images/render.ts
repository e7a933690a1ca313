// An InspectReport as a tree, like checkpointctl's `show`/`inspect` output.
import { formatBytes, formatDuration } from '../../util/time.js';
import type { InspectReport, MappingReport, ProcessReport, ReferencedFile } from './inspect.js';

export interface TreeNode {
  label: string;
  children?: TreeNode[];
}

/** Lines of a tree: the root's label, then its children drawn with ├── └── │. */
export function treeLines(root: TreeNode): string[] {
  const out = [root.label];
  const walk = (nodes: TreeNode[], prefix: string): void => {
    nodes.forEach((n, i) => {
      const last = i === nodes.length - 1;
      const [first, ...rest] = n.label.split('\n');
      out.push(`${prefix}${last ? '└── ' : '├── '}${first}`);
      const inner = prefix + (last ? '    ' : '│   ');
      for (const l of rest) out.push(`${inner}${l}`);
      if (n.children?.length) walk(n.children, inner);
    });
  };
  walk(root.children ?? [], '');
  return out;
}

interface Paint {
  bold: (s: string) => string;
  dim: (s: string) => string;
  green: (s: string) => string;
  yellow: (s: string) => string;
  red: (s: string) => string;
}

function paint(color: boolean): Paint {
  const sgr = (code: number) => (s: string): string => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { bold: sgr(1), dim: sgr(2), green: sgr(32), yellow: sgr(33), red: sgr(31) };
}

const us = (v: number): string => (v < 1000 ? `${v}µs` : formatDuration(v / 1000));
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function memoryLine(m: InspectReport['totals'] | ProcessReport['memory'], pagesImage?: string): string {
  const parts = [
    `${formatBytes(m.vmaBytes)} mapped`,
    `${formatBytes(m.privateAnonBytes)} private anon`,
  ];
  if (m.sharedAnonBytes) parts.push(`${formatBytes(m.sharedAnonBytes)} shared anon`);
  parts.push(`file-mapped ${formatBytes(m.fileSharedBytes)} shared, ${formatBytes(m.filePrivateBytes)} private`);
  let pages = `${plural(m.pagesDumped, 'page')} dumped (${formatBytes(m.pagesBytes)})`;
  if (m.pagesInParent) pages += `, ${m.pagesInParent} in parent`;
  parts.push(pages);
  parts.push(`${pagesImage ?? 'pages images'} ${formatBytes(m.pagesImageBytes)}`);
  return parts.join(' · ');
}

/** File mappings grouped by path and sharing, in first-seen order. */
function mappingNodes(maps: MappingReport[], p: Paint): TreeNode[] {
  const groups = new Map<string, MappingReport[]>();
  for (const m of maps) {
    const key = `${m.shared ? 's' : 'p'}\0${m.path}`;
    const g = groups.get(key);
    if (g) g.push(m);
    else groups.set(key, [m]);
  }
  return [...groups.values()].map((g) => {
    const first = g[0]!;
    const size = g.reduce((a, m) => a + m.size, 0);
    const prots = [...new Set(g.map((m) => m.prot))].join(',');
    const where = g.length === 1 ? p.dim(`${first.start}-${first.end}`) : p.dim(plural(g.length, 'vma'));
    return { label: `${first.path}  ${first.shared ? 'shared' : 'private'} ${prots} ${formatBytes(size)}  ${where}` };
  });
}

function processNode(pr: ProcessReport, byPid: Map<number, ProcessReport>, p: Paint): TreeNode {
  const state = pr.state === 'alive' ? '' : ` (${pr.state}${pr.state === 'zombie' || pr.state === 'dead' ? `, exit code ${pr.exitCode}` : ''})`;
  const facts: string[] = [plural(pr.threads, 'thread')];
  if (pr.exe) facts.push(`exe ${pr.exe}`);
  if (pr.cwd) facts.push(`cwd ${pr.cwd}`);
  if (pr.uid !== undefined) facts.push(`uid ${pr.uid}`);
  facts.push(`pgid ${pr.pgid}`, `sid ${pr.sid}`);
  const children: TreeNode[] = [{ label: facts.join(' · ') }];
  if (pr.memory.vmaBytes || pr.memory.pagesDumped) children.push({ label: `memory: ${memoryLine(pr.memory, pr.pagesImage)}` });
  if (pr.openFiles.length) {
    children.push({
      label: `open files (${pr.openFiles.length})`,
      children: pr.openFiles.map((f) => ({ label: `${p.bold(String(f.fd))} → ${f.desc}${f.access ? p.dim(` (${f.access})`) : ''}` })),
    });
  }
  if (pr.mappings.length) children.push({ label: `file mappings (${pr.mappings.length})`, children: mappingNodes(pr.mappings, p) });
  for (const c of pr.children) {
    const child = byPid.get(c);
    if (child) children.push(processNode(child, byPid, p));
  }
  return { label: p.bold(`${pr.pid} ${pr.comm}`) + state, children };
}

function fileNode(f: ReferencedFile, p: Paint): TreeNode {
  const rec: string[] = [f.type];
  if (f.size !== undefined) rec.push(formatBytes(f.size));
  if (f.mode !== undefined) rec.push((f.mode & 0o7777).toString(8).padStart(4, '0'));
  const uses = [...new Set(f.uses.map((u) => (u.as === 'fd' ? 'fd' : u.as)))].join(',');
  let label = `${f.path}  ${p.dim(`${rec.join(' ')} · ${uses}`)}`;
  if (f.external) label += '  external';
  if (f.remap === 'ghost') label += `  ${p.green('copy in the set (ghost: copy_files, or deleted at dump)')}`;
  else if (f.remap) label += `  ${p.yellow(`deleted at dump (${f.remap})`)}`;
  if (f.status === 'same') label += `  ${p.green('same')}`;
  else if (f.status === 'renamed') label += `  ${p.green(`renamed to ${f.renamedTo}`)}`;
  else if (f.status === 'missing') label += `  ${p.red(f.changes?.length ? `missing: ${f.changes.join(', ')}` : 'missing')}`;
  else if (f.status === 'changed') label += `  ${p.yellow(`changed: ${(f.changes ?? []).join(', ')}`)}`;
  return { label };
}

/** The report as a tree (no trailing newline). */
export function renderInspectTree(report: InspectReport, opts: { color?: boolean } = {}): string {
  const p = paint(opts.color ?? false);
  const top: TreeNode[] = [];

  const criu = [`CRIU images v${report.criu.imgVersion}`];
  if (report.criu.arch) criu.push(report.criu.arch);
  if (report.criu.criuRunId) criu.push(`run ${report.criu.criuRunId}`);
  if (report.criu.plugins.length) criu.push(`plugins ${report.criu.plugins.join(',')}`);
  top.push({ label: criu.join(' · ') });
  top.push({ label: report.namespaces.length ? `own namespaces: ${report.namespaces.join(', ')}` : 'namespaces: all shared with the host' });
  top.push({ label: `processes: ${report.totals.processes} (${plural(report.totals.threads, 'thread')})` });
  top.push({ label: `memory: ${memoryLine(report.totals)}` });

  const ds = report.dumpStats;
  if (ds) {
    top.push({
      label: 'dump statistics',
      children: [
        { label: `freezing ${us(ds.freezingTime)} · frozen ${us(ds.frozenTime)} · memdump ${us(ds.memdumpTime)} · memwrite ${us(ds.memwriteTime)}` },
        { label: `pages scanned ${ds.pagesScanned} · written ${ds.pagesWritten} · skipped (in parent) ${ds.pagesSkippedParent} · lazy ${ds.pagesLazy}` },
      ],
    });
  }
  const rs = report.restoreStats;
  if (rs) {
    const pages = [`pages compared ${rs.pagesCompared}`, `skipped (COW) ${rs.pagesSkippedCow}`];
    if (rs.pagesRestored !== undefined) pages.push(`restored ${rs.pagesRestored}`);
    top.push({
      label: 'restore statistics',
      children: [{ label: `forking ${us(rs.forkingTime)} · restore ${us(rs.restoreTime)}` }, { label: pages.join(' · ') }],
    });
  }

  const byPid = new Map(report.processes.map((pr) => [pr.pid, pr]));
  const roots = report.processes.filter((pr) => !byPid.has(pr.ppid) || pr.ppid === pr.pid);
  top.push({ label: 'process tree', children: roots.map((r) => processNode(r, byPid, p)) });

  if (report.sockets.length) {
    top.push({
      label: `sockets (${report.sockets.length})`,
      children: report.sockets.map((s) => ({
        label: `${s.desc}  ${p.dim(s.users.map((u) => `${u.pid}:${u.fd}`).join(', '))}`,
      })),
    });
  }

  if (report.files.length) {
    const counts = report.filesChecked
      ? `, checked now: ${['same', 'renamed', 'changed', 'missing'].map((st) => `${report.files.filter((f) => f.status === st).length} ${st}`).join(', ')}`
      : '';
    top.push({ label: `referenced files (${report.files.length}${counts})`, children: report.files.map((f) => fileNode(f, p)) });
  }
  if (report.container) {
    const c = report.container;
    top.push({
      label: 'container',
      children: [
        { label: c.rootfsDiffBytes === undefined ? 'writable layer: not in the set' : `writable layer: rootfs-diff.tar ${formatBytes(c.rootfsDiffBytes)}` },
        ...(c.volumes.length
          ? [{ label: `volumes (${c.volumes.length})`, children: c.volumes.map((v) => ({ label: `${v.target}  ${p.dim(`${v.file} ${formatBytes(v.bytes)}`)}` })) }]
          : []),
      ],
    });
  }
  if (report.notes.length) top.push({ label: 'notes', children: report.notes.map((n) => ({ label: n })) });

  return treeLines({ label: p.bold(report.dir), children: top }).join('\n');
}
