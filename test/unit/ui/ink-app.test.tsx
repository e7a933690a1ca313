// The whole UI at 80×24 on a real controller (a stack that is not running, an empty store): the
// help overlay, the checkpoint prompt, the quit question; colour on, and off under NO_COLOR.
import t from 'tap';
import React from 'react';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// chalk decides on colour when it is first imported: make it colour this non-terminal output,
// so that what the theme leaves out is what NO_COLOR leaves out.
process.env.FORCE_COLOR = '1';
const { render } = await import('ink-testing-library');
const { App, KEY_BAR } = await import('../../../src/ui/ink/app.js');
const { StackController } = await import('../../../src/ui/stack-controller.js');
const { SetsPane } = await import('../../../src/ui/ink/sets-pane.js');
const { ThemeContext } = await import('../../../src/ui/ink/theme.js');

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** The frame once it satisfies `ok` (polled; a generous limit for a loaded machine), else the last one. */
async function frame(app: { lastFrame(): string | undefined }, ok: (f: string) => boolean): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const f = strip(app.lastFrame() ?? '');
    if (ok(f) || Date.now() > deadline) return f;
    await tick();
  }
}
const shows = (re: RegExp) => (f: string) => re.test(f);
const hides = (re: RegExp) => (f: string) => !re.test(f);

/** The UI with its key handler in place (it is attached after the first frame). */
async function setup(t: { teardown(fn: () => void): void }, color: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'ckpt-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const controller = new StackController({ stateRoot: join(dir, 'state'), storeRoot: join(dir, 'store'), project: 'demo' });
  const app = render(<App controller={controller} theme={{ color }} width={80} height={24} />);
  t.teardown(() => app.unmount());
  await tick();
  return { controller, app };
}

t.test('80×24: every pane fits, keys at the bottom', async (t) => {
  const { app } = await setup(t, false);
  const lines = strip(app.lastFrame()!).split('\n');
  t.equal(lines.length, 23, 'one row short of the terminal');
  t.ok(lines.every((l) => l.length <= 80), 'nothing wider than 80 columns');
  t.match(lines[0], /^ ckpt · demo · not running · 0 sets\s+\? help $/);
  t.match(lines[1], /Services · demo/);
  t.match(lines[3], /stack demo is not running/);
  t.match(lines[5], /^┌─ Sets \(0\) ─+┐┌─ Logs ─+┐$/);
  t.equal(lines[22], KEY_BAR.padEnd(80));
  t.ok(KEY_BAR.length <= 80);
});

t.test('? shows the help; any key closes it', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('?');
  const help = await frame(app, shows(/Help · any key closes/));
  t.match(help, /Help · any key closes/);
  t.match(help, /↑\/↓ j\/k {5}select a service or a set/, 'at 80x24 every key is listed, the first too');
  t.match(help, /c {10} checkpoint the stack into a new set/);
  t.match(help, /q ctrl-c {4}quit \(asks whether to leave the stack running\)/);
  app.stdin.write('x');
  t.notMatch(await frame(app, hides(/Help/)), /Help/);
});

t.test('c asks for a set name, suggesting one; typing replaces it; esc cancels', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('c');
  t.match(await frame(app, shows(/Name of the new set/)), /Checkpoint demo[\s\S]*Name of the new set: demo-1/);
  app.stdin.write('w');
  await frame(app, shows(/set: w /));
  app.stdin.write('arm');
  t.match(await frame(app, shows(/set: warm /)), /Name of the new set: warm /);
  app.stdin.write('\x7f');
  t.match(await frame(app, shows(/set: war /)), /Name of the new set: war /);
  app.stdin.write('\x1b');
  t.notMatch(await frame(app, hides(/Name of the new set/)), /Name of the new set/);
});

t.test('a bad set name is refused in the prompt, with why', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('c');
  await frame(app, shows(/Name of the new set/));
  app.stdin.write('-x');
  await frame(app, shows(/set: -x /));
  app.stdin.write('\r');
  t.match(await frame(app, shows(/a set name starts/)), /a set name starts with a letter or digit/);
});

t.test('q asks whether to leave the stack running; esc stays', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('q');
  t.match(await frame(app, shows(/Leave stack/)), /Leave stack demo running\?[\s\S]*y: quit, leave it running {3}n: stop it and quit {3}esc: stay/);
  app.stdin.write('\x1b');
  t.notMatch(await frame(app, hides(/Leave stack/)), /Leave stack/);
});

t.test('y in the quit question quits, leaving the stack', async (t) => {
  const { app, controller } = await setup(t, false);
  app.stdin.write('q');
  await frame(app, shows(/Leave stack/));
  app.stdin.write('y');
  for (let i = 0; i < 500 && !controller.snapshot().quitting; i++) await tick();
  t.equal(controller.snapshot().quitting, 'leave');
});

t.test('restore, clone, remove and inspect need a set', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('r');
  t.match(await frame(app, shows(/no set selected/)), /no set selected: take one with c/);
});

t.test('keys typed faster than frames are drawn each meet the state before them', async (t) => {
  const { app } = await setup(t, false);
  app.stdin.write('?');
  app.stdin.write('x'); // closes the help, typed before its frame's handler was attached
  app.stdin.write('q');
  t.match(await frame(app, shows(/Leave stack/)), /Leave stack demo running/);
  t.notMatch(await frame(app, shows(/Leave stack/)), /no set selected/, 'x went to the help, not to remove');
});

t.test('a name and Enter that arrive in one read: the prompt takes the name and accepts it', async (t) => {
  const { app, controller } = await setup(t, false);
  const taken: string[] = [];
  controller.checkpoint = async (name: string) => {
    taken.push(name);
    return true;
  };
  app.stdin.write('c');
  await frame(app, shows(/Name of the new set/));
  app.stdin.write('pasted\r');
  await frame(app, hides(/Name of the new set/));
  t.same(taken, ['pasted'], 'the typed name replaced the suggestion and Enter took it');
  app.stdin.write('c');
  await frame(app, shows(/Name of the new set/));
  t.match(await frame(app, shows(/set: demo-1/)), /Name of the new set: demo-1/, 'the next prompt starts afresh: nothing was left over');
  app.stdin.write('ab\x7fc\r');
  await frame(app, hides(/Name of the new set/));
  t.same(taken, ['pasted', 'ac'], 'a backspace inside the chunk is a backspace');
});

t.test('a key and its answer in one read: the question is asked and answered', async (t) => {
  const { app, controller } = await setup(t, false);
  app.stdin.write('qy');
  for (let i = 0; i < 500 && !controller.snapshot().quitting; i++) await tick();
  t.equal(controller.snapshot().quitting, 'leave', 'q asked, y answered');
});

t.test('NO_COLOR: no colour codes at all; with colour, the focused pane is cyan', async (t) => {
  const off = (await setup(t, false)).app.lastFrame()!;
  t.notMatch(off, /\x1b\[(3[0-7]|9[0-7]|38;)/, 'no foreground colour');
  t.match(off, /\x1b\[1m/, 'bold is still used');
  const on = (await setup(t, true)).app.lastFrame()!;
  t.match(on, /\x1b\[36m/, 'cyan with colour');
});

t.test('sets of other stacks are dimmed (an attribute, so under NO_COLOR too)', async (t) => {
  const set = (name: string, project: string) => ({ name, project, id: name, dir: `/s/${name}`, services: ['x'], createdAt: `2026-01-01T00:00:0${name.length}Z`, files: 1, sizeBytes: 1024, exclusiveBytes: 1024 });
  const app = render(
    <ThemeContext.Provider value={{ color: false }}>
      <SetsPane sets={[set('ours', 'demo'), set('theirs', 'shop')]} selected={0} focused={false} width={36} height={4} project="demo" now={Date.parse('2026-01-01T00:01:00Z')} />
    </ThemeContext.Provider>,
  );
  t.teardown(() => app.unmount());
  const lines = app.lastFrame()!.split('\n');
  t.match(lines[1], /ours/);
  t.notMatch(lines[1], /\x1b\[2m/, 'a set of this stack is not dimmed');
  t.match(lines[2], /\x1b\[2m.*theirs/, 'a set of another stack is');
});
