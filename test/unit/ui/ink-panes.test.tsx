// Frames of each pane of the terminal UI, drawn by Ink as a terminal would show them.
import t from 'tap';
import React from 'react';
import { render } from 'ink-testing-library';
import { ServicesPane } from '../../../src/ui/ink/services-pane.js';
import { SetsPane } from '../../../src/ui/ink/sets-pane.js';
import { LogPane } from '../../../src/ui/ink/log-pane.js';
import { ProgressPane } from '../../../src/ui/ink/progress-pane.js';
import { ThemeContext } from '../../../src/ui/ink/theme.js';
import type { ServiceRow } from '../../../src/ui/stack-controller.js';
import type { SetInfo } from '../../../src/core/index.js';

const MiB = 1024 * 1024;
const plain = (el: React.ReactElement) => render(<ThemeContext.Provider value={{ color: false }}>{el}</ThemeContext.Provider>);

const row = (o: Partial<ServiceRow>): ServiceRow => ({
  service: 'index', runtime: 'process', state: 'running', project: 'demo', ports: [], health: 'healthy', ...o,
});

t.test('services pane: one row per service, the selected one marked', async (t) => {
  const rows = [
    row({ pid: 418, rssBytes: 144 * MiB, cpuPercent: 0.25, uptimeMs: 15_400 }),
    row({ service: 'gateway', state: 'exited', exit: 'exited 0', health: 'none' }),
  ];
  const { lastFrame, unmount } = plain(<ServicesPane project="demo" rows={rows} selected={1} focused width={80} stackUp fromSet="warm" />);
  const lines = lastFrame()!.split('\n');
  t.equal(lines.length, 5);
  t.match(lines[0], /^┌─\[ Services · demo \(restored from warm\) \]─+┐$/);
  t.match(lines[1], /│ {2}SERVICE\s+RUNTIME\s+STATE\s+HEALTH\s+PID\s+RSS\s+CPU\s+UPTIME\s+│/);
  t.match(lines[2], /│ {2}index\s+process\s+running\s+healthy\s+418\s+144MiB\s+0\.3%\s+15s\s+│/);
  t.match(lines[3], /│› gateway\s+process\s+exited 0\s+none\s+-\s+-\s+-\s+-\s+│/);
  t.ok(lines.every((l) => l.length === 80), 'every line exactly as wide as the pane');
  unmount();
});

t.test('services pane of a stack that is not running', async (t) => {
  const { lastFrame, unmount } = plain(<ServicesPane project="demo" rows={[]} selected={0} focused={false} width={60} stackUp={false} />);
  t.match(lastFrame(), /^┌─ Services · demo ─+┐\n.*\n│ {2}stack demo is not running\s+│/);
  unmount();
});

const set = (name: string, createdAt: string, parent?: string): SetInfo => ({
  name, id: name, dir: `/s/${name}`, project: 'demo', services: ['index'], createdAt, files: 3, sizeBytes: 12 * MiB, exclusiveBytes: MiB, ...(parent ? { parent } : {}),
});

t.test('sets pane: the lineage tree, with size and age, the stack\'s set starred', async (t) => {
  const now = Date.parse('2026-01-01T01:00:00Z');
  const sets = [set('warm', '2026-01-01T00:00:00Z'), set('hot', '2026-01-01T00:30:00Z', 'warm'), set('hotter', '2026-01-01T00:59:30Z', 'hot'), set('other', '2026-01-01T00:40:00Z', 'warm')];
  const { lastFrame, unmount } = plain(<SetsPane sets={sets} selected={2} focused width={36} height={7} fromSet="hot" now={now} />);
  t.equal(
    lastFrame(),
    [
      '┌─[ Sets (4) ]─────────────────────┐',
      '│  warm                  12MiB   1h│',
      '│ *├─ hot                12MiB  30m│',
      '│› │  └─ hotter          12MiB  30s│',
      '│  └─ other              12MiB  20m│',
      '│                                  │',
      '└──────────────────────────────────┘',
    ].join('\n'),
  );
  unmount();
});

t.test('sets pane: scrolls to keep the selection in view', async (t) => {
  const sets = Array.from({ length: 10 }, (_, i) => set(`s${i}`, `2026-01-01T00:00:0${i}Z`));
  const { lastFrame, unmount } = plain(<SetsPane sets={sets} selected={9} focused width={30} height={5} now={Date.parse('2026-01-01T00:00:10Z')} />);
  const lines = lastFrame()!.split('\n');
  t.match(lines[1], /s7/);
  t.match(lines[3], /› s9/);
  unmount();
});

t.test('log pane: follows the end; scrolled, it says so', async (t) => {
  const lines = Array.from({ length: 20 }, (_, i) => `line ${i}`);
  const follow = plain(<LogPane service="index" lines={lines} scroll={0} width={40} height={6} />);
  t.equal(
    follow.lastFrame(),
    ['┌─ Logs · index (following) ───────────┐', '│line 16                               │', '│line 17                               │', '│line 18                               │', '│line 19                               │', '└──────────────────────────────────────┘'].join('\n'),
  );
  follow.unmount();
  const up = plain(<LogPane service="index" lines={lines} scroll={5} width={40} height={6} />);
  t.match(up.lastFrame(), /Logs · index \(up 5; f follows\)[\s\S]*line 11[\s\S]*line 14\s+│\n└/);
  up.unmount();
  const esc = plain(<LogPane service="x" lines={['\x1b[2J\x1b[31mred\x1b[0m\ttab']} scroll={0} width={30} height={3} />);
  t.match(esc.lastFrame(), /│red {2}tab\s+│/, 'a service\'s escape sequences are not passed to the terminal');
  esc.unmount();
  const long = plain(<LogPane service="x" lines={['first', 'a'.repeat(25) + 'b'.repeat(10)]} scroll={0} width={27} height={5} />);
  t.equal(
    long.lastFrame(),
    ['┌─ Logs · x (following) ──┐', '│first                    │', '│aaaaaaaaaaaaaaaaaaaaaaaaa│', '│bbbbbbbbbb               │', '└─────────────────────────┘'].join('\n'),
    'a long line wraps: nothing is cut off',
  );
  long.unmount();
});

t.test('progress pane: a bar per service with bytes, rate and ETA', async (t) => {
  const rows = [
    { op: 'checkpoint' as const, set: 's', service: 'gateway', doneBytes: 14 * MiB, totalBytes: 14 * MiB, elapsedMs: 1000, final: true },
    { op: 'checkpoint' as const, set: 's', service: 'index', doneBytes: 50 * MiB, totalBytes: 100 * MiB, elapsedMs: 500, final: false },
  ];
  const { lastFrame, unmount } = plain(<ProgressPane title="checkpoint s: index dumping" rows={rows} width={80} />);
  const lines = lastFrame()!.split('\n');
  t.match(lines[0], /^┌─ checkpoint s: index dumping ─+┐$/);
  t.match(lines[1], /^│gateway █+ 100% 14MiB\/14MiB {2}14MiB\/s {2}done\s+│$/);
  t.match(lines[2], /^│index {3}█+░+ {2}50% 50MiB\/100MiB {2}100MiB\/s {2}ETA 500ms\s*│$/);
  t.equal(lines[1]!.indexOf('█'), lines[2]!.indexOf('█'), 'bars start in the same column');
  t.equal(lines[1]!.lastIndexOf('%'), lines[2]!.lastIndexOf('%'), 'and end in the same column');
  unmount();
});
