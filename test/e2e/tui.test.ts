// The terminal UI as a person drives it: the real `ckpt up` of the demo manifest in a tmux
// terminal, keys sent with send-keys, and what the screen shows read with capture-pane. Take a
// set, see it in the tree, restore it, take a second set (a child of the first), inspect,
// clone, remove, stop and start a service, quit leaving the stack running; then `ckpt ps` from
// another process finds it running.
import t, { type Test } from 'tap';
import { execa } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { isAlive } from '../../src/util/proc.js';
import { freePort, inCI, requireIntegration, tempDir, userEnv } from '../helpers/env.js';

const bin = join(packageRoot, 'bin/ckpt.js');
const PROJECT = 'tuidemo';
/** typed over the suggested name, and sent with Enter in one send-keys (one read, as a paste) */
const SECOND = 'pasted';
// CKPT_TUI_SIZE=80x24 runs it at the smallest size the UI is made for; CKPT_TUI_CAPTURES=DIR
// keeps the screens (the README's captures come from there).
const [COLS, ROWS] = (process.env.CKPT_TUI_SIZE ?? '120x32').split('x').map(Number) as [number, number];

type T = Pick<Test, 'skip' | 'fail' | 'teardown'>;

/** Whether tmux is here; under CI its absence fails the test (bootstrap installs it), else skips it. */
async function needTmux(t: T): Promise<boolean> {
  if ((await execa('tmux', ['-V'], { reject: false })).exitCode === 0) return true;
  if (inCI) t.fail('tmux is missing under CI (scripts/bootstrap.sh installs it)');
  else t.skip('needs tmux', () => undefined);
  return false;
}

/**
 * A tmux server of the test's own (its socket in `dir`), killed at teardown: `tmux(args)` runs a
 * tmux command, `until(session, re)` polls the session's screen until it matches (or about a
 * minute passes) and returns the last screen seen.
 */
function tmuxIn(t: T, dir: string) {
  const sock = join(dir, 'tmux.sock');
  const tmux = (args: string[]) => execa('tmux', ['-S', sock, ...args], { reject: false, env: userEnv({ TERM: 'xterm-256color' }), extendEnv: false });
  t.teardown(() => tmux(['kill-server']));
  const until = async (session: string, re: RegExp): Promise<string> => {
    let s = '';
    for (let i = 0; i < 600 && !re.test(s); i++) {
      await new Promise((r) => setTimeout(r, 100));
      s = (await tmux(['capture-pane', '-p', '-t', session])).stdout;
    }
    return s;
  };
  return { tmux, until };
}

t.test('ckpt up in tmux: checkpoint, restore, lineage, every key, quit leaving the stack running', { timeout: 400_000 }, async (t) => {
  if (!requireIntegration(t, { criu: true })) return;
  if (!(await needTmux(t))) return;
  const dir = tempDir(t);
  const { tmux } = tmuxIn(t, dir);
  const env = {
    CKPT_STATE_DIR: join(dir, 'state'),
    CKPT_STORE: join(dir, 'store'),
    DEMO_INDEX_PORT: String(await freePort()),
    DEMO_GATEWAY_PORT: String(await freePort()),
    DEMO_DOCS: '200000',
  };
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, cwd: packageRoot, env: userEnv(env), extendEnv: false, timeout: 120_000 });
  t.teardown(async () => {
    for (const p of [PROJECT, `${PROJECT}-copy`]) await ckpt(['down', '-p', p, '-t', '1']);
  });

  // The UI must run as on a person's terminal: not under CI (which asks for plain output), and
  // the shell stays after ckpt exits so its last words can be read.
  const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
  const command = `cd ${packageRoot} && env -u CI ${vars} node ${bin} up -p ${PROJECT} -f manifests/demo.yaml; echo "[ckpt exited $?]"; sleep 600`;
  const started = await tmux(['new-session', '-d', '-s', 'ui', '-x', String(COLS), '-y', String(ROWS), command]);
  t.equal(started.exitCode, 0, started.stderr);

  const captures = process.env.CKPT_TUI_CAPTURES;
  if (captures) mkdirSync(captures, { recursive: true });
  const screen = async (): Promise<string> => (await tmux(['capture-pane', '-p', '-t', 'ui'])).stdout;
  /** Polls the screen until it matches; fails with the last screen seen. */
  const waitFor = async (re: RegExp, what: string, keep?: string): Promise<string> => {
    const deadline = Date.now() + 120_000;
    let s = '';
    while (Date.now() < deadline) {
      s = await screen();
      if (re.test(s)) {
        if (captures && keep) writeFileSync(join(captures, `${keep}-${COLS}x${ROWS}.txt`), s.replace(/\s+$/, '') + '\n');
        t.pass(what);
        return s;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    t.fail(`${what}: not on the screen after 120 s`, { screen: s });
    throw new Error(`gave up waiting for: ${what}`);
  };
  const keys = async (...k: string[]) => void (await tmux(['send-keys', '-t', 'ui', ...k]));

  const up = await waitFor(/index\s+process\s+running\s+healthy[\s\S]*gateway\s+process\s+running\s+healthy/, 'both services up and healthy', 'up');
  t.match(up, new RegExp(`ckpt · ${PROJECT} · 2/2 running · 0 sets`), 'the header says what runs');
  t.match(up, /Sets \(0\)[\s\S]*none yet: c takes one/, 'an empty store says how to fill it');
  t.match(up, /Logs · index \(following\)[\s\S]*index ready: 200000 docs/, 'the selected service\'s log');
  t.match(up, /c:checkpoint r:restore n:clone x:remove i:inspect s:stop\/start \?:help q:quit/);

  await keys('?');
  await waitFor(/Help · any key closes[\s\S]*quit \(asks whether to leave the stack running\)/, 'help on ?', 'help');
  await keys('Escape');
  await waitFor(/Sets \(0\)/, 'help closed');

  // take a set, with the suggested name
  await keys('c');
  await waitFor(new RegExp(`Name of the new set: ${PROJECT}-1`), 'c asks for a name, suggesting one', 'prompt');
  await keys('Enter');
  const taken = await waitFor(new RegExp(`checkpoint ${PROJECT}-1: \\d[\\d.]*[KMG]iB, stack frozen`), 'the checkpoint finishes', 'checkpoint');
  t.match(taken, /gateway\s+█+ 100% \S+\/\S+\s+\S+\/s\s+done/, 'gateway\'s bar complete, with its rate');
  t.match(taken, /index\s+█+ 100% \S+\/\S+\s+\S+\/s\s+done/, 'index\'s bar complete');
  t.match(taken, new RegExp(`Sets \\(1\\)[\\s\\S]*› ${PROJECT}-1\\s+\\d[\\d.]*MiB\\s+\\d+s`), 'the set in the tree, with size and age');

  // restore it over the running stack
  await keys('Tab');
  await waitFor(/\[ Sets \(1\) \]/, 'the sets pane has the focus');
  await keys('r');
  await waitFor(new RegExp(`Restore set ${PROJECT}-1 over stack ${PROJECT}\\?`), 'r asks first');
  await keys('y');
  const restored = await waitFor(new RegExp(`restored ${PROJECT} from ${PROJECT}-1 in`), 'the restore finishes', 'restore');
  t.match(restored, new RegExp(`Services · ${PROJECT} \\(restored from ${PROJECT}-1\\)`), 'the stack says where it came from');
  t.match(restored, new RegExp(`\\*${PROJECT}-1`), 'the set it came from is starred in the tree');
  await waitFor(/index\s+process\s+running\s+healthy[\s\S]*gateway\s+process\s+running\s+healthy/, 'restored services healthy');
  await waitFor(/── restored from tuidemo-1 ──/, 'the log marks the restore (once it follows the new logs)');

  // a set taken from the restored stack is the first one's child
  await keys('c');
  await waitFor(new RegExp(`Name of the new set: ${PROJECT}-2`), 'the next suggested name');
  // the name and Enter in one send-keys: they reach ckpt in one read, as a paste does
  await keys(SECOND, 'Enter');
  const tree = await waitFor(new RegExp(`checkpoint ${SECOND}: \\d[\\d.]*[KMG]iB, stack frozen`), 'the second checkpoint finishes', 'lineage');
  t.match(tree, new RegExp(`\\*${PROJECT}-1\\s+\\S+iB\\s+\\d+[sm]│[\\s\\S]*\\s└─ ${SECOND}\\s`), 'the typed name was taken; the second set drawn below the first');

  // inspect the set the stack came from
  await keys('i');
  const insp = await waitFor(new RegExp(`Inspect · ${PROJECT}-1[\\s\\S]*service index`), 'i shows what the set holds', 'inspect');
  t.match(insp, /parent: -/);
  await keys('Escape');
  await waitFor(/\[ Sets \(2\) \]/, 'esc closes the inspect view');

  // clone it as a second stack
  await keys('n');
  await waitFor(new RegExp(`Name of the new stack: ${PROJECT}-copy`), 'n asks for the clone\'s name');
  await keys('Enter');
  await waitFor(new RegExp(`cloned ${PROJECT}-1 as ${PROJECT}-copy`), 'the clone runs beside the stack', 'clone');

  // remove the second set, after saying yes
  await keys('Down');
  await keys('x');
  await waitFor(new RegExp(`Remove set ${SECOND} from the store\\?`), 'x asks first', 'remove');
  await keys('y');
  await waitFor(new RegExp(`removed ${SECOND} \\(`), 'the set is removed');
  t.notMatch(await screen(), new RegExp(`└─ ${SECOND}`), 'and gone from the tree');

  // stop and start a service
  await keys('Tab');
  await waitFor(/\[ Services · /, 'the services pane has the focus');
  await keys('Down');
  await waitFor(/Logs · gateway/, 'the log follows the selected service');
  await keys('s');
  await waitFor(/stop gateway: done[\s\S]*/, 's stops the selected service');
  t.match(await screen(), /› gateway\s+process\s+(exited|dead)/, 'gateway is down');
  await keys('s');
  await waitFor(/start gateway: done/, 's starts it again');
  await waitFor(/› gateway\s+process\s+running/, 'gateway runs again');

  // quit, leaving the stack running
  await keys('q');
  await waitFor(new RegExp(`Leave stack ${PROJECT} running\\?`), 'q asks whether to leave the stack running', 'quit');
  await keys('y');
  const after = await waitFor(/\[ckpt exited \d+\]/, 'ckpt exits');
  t.match(after, new RegExp(`ckpt: left stack ${PROJECT} running`), 'it says the stack was left running');
  t.match(after, /\[ckpt exited 0\]/, 'exit code 0');

  const ps = await ckpt(['ps', '--json', '-p', PROJECT]);
  t.equal(ps.exitCode, 0, ps.stderr);
  const rows = JSON.parse(ps.stdout) as { service: string; state: string; pid: number }[];
  t.same(rows.map((r) => [r.service, r.state]), [['index', 'running'], ['gateway', 'running']], 'ckpt ps: the stack still runs');
  const sets = JSON.parse((await ckpt(['sets', '--json'])).stdout) as { name: string; parent: string | null }[];
  t.same(sets.map((s) => [s.name, s.parent]), [[`${PROJECT}-1`, null]], 'the removed set is gone from the store');
  const copy = await ckpt(['ps', '--json', '-p', `${PROJECT}-copy`]);
  t.equal(copy.exitCode, 0, 'the clone runs too');
  t.equal((await ckpt(['down', '-p', `${PROJECT}-copy`, '-t', '1'])).exitCode, 0);

  const down = await ckpt(['down', '-p', PROJECT, '-t', '1']);
  t.equal(down.exitCode, 0, down.stderr);
  const copyPids = (JSON.parse(copy.stdout) as { pid: number }[]).map((r) => r.pid);
  t.same([...rows.map((r) => r.pid), ...copyPids].filter((p) => isAlive(p)), [], 'nothing left running');
});

t.test('ckpt ui without a terminal says to use ps and logs', async (t) => {
  const dir = tempDir(t);
  const r = await execa(bin, ['ui', '-p', 'nothing'], { reject: false, env: userEnv({ CKPT_STATE_DIR: join(dir, 'state') }), extendEnv: false });
  t.equal(r.exitCode, 64);
  t.match(r.stderr, /ckpt ui needs a terminal/);
  t.match(r.stderr, /ckpt ps -p nothing/);
});

t.test('ckpt ui on a terminal, with no such stack: the error, and no screen drawn', async (t) => {
  if (!(await needTmux(t))) return;
  const dir = tempDir(t);
  const { tmux, until } = tmuxIn(t, dir);
  await tmux(['new-session', '-d', '-s', 'ui', '-x', '80', '-y', '24', `env -u CI CKPT_STATE_DIR=${join(dir, 'state')} node ${bin} ui -p nothing; echo "[ckpt exited $?]"; sleep 600`]);
  const s = await until('ui', /\[ckpt exited/);
  t.match(s, /no stack named nothing is running/);
  t.match(s, /\[ckpt exited 71\]/);
  t.notMatch(s, /Services ·/, 'no UI was drawn');
});

t.test('on a terminal, --no-ui, --plain and CI=true keep the plain output', { timeout: 120_000 }, async (t) => {
  if (!requireIntegration(t)) return;
  if (!(await needTmux(t))) return;
  const dir = tempDir(t);
  const { tmux, until } = tmuxIn(t, dir);
  const file = join(dir, 'ckpt.yaml');
  writeFileSync(file, 'name: plainfb\nservices:\n  ticker:\n    command: ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]\n');
  const state = join(dir, 'state');
  t.teardown(async () => {
    await execa(bin, ['down', '-p', 'plainfb', '-t', '1'], { reject: false, env: userEnv({ CKPT_STATE_DIR: state }), extendEnv: false });
  });
  const variants: [string, string][] = [
    ['--no-ui', `env -u CI CKPT_STATE_DIR=${state} node ${bin} up --no-ui -f ${file}`],
    ['--plain', `env -u CI CKPT_STATE_DIR=${state} node ${bin} up --plain -f ${file}`],
    ['CI=true', `env CI=true CKPT_STATE_DIR=${state} node ${bin} up -f ${file}`],
  ];
  for (const [name, cmd] of variants) {
    await tmux(['kill-server']);
    await tmux(['new-session', '-d', '-s', 'p', '-x', '80', '-y', '24', `${cmd}; echo "[ckpt exited $?]"; sleep 600`]);
    const read = (re: RegExp): Promise<string> => until('p', re);
    const running = await read(/ticker \| tick\n.*ticker \| tick/);
    t.match(running, /plainfb-ticker\s+Started/, `${name}: plain lines`);
    t.match(running, /ticker \| tick/, `${name}: the log followed as lines`);
    t.notMatch(running, /Services ·/, `${name}: no UI`);
    await tmux(['send-keys', '-t', 'p', 'C-c']);
    const end = await read(/\[ckpt exited \d+\]/);
    t.match(end, /\[ckpt exited 130\]/, `${name}: Ctrl-C stops the stack, as before`);
  }
});

t.test('ckpt ui attaches to a stack started with up -d; quitting leaves it, or stops it', { timeout: 180_000 }, async (t) => {
  if (!requireIntegration(t)) return;
  if (!(await needTmux(t))) return;
  const dir = tempDir(t);
  const { tmux, until } = tmuxIn(t, dir);
  const file = join(dir, 'ckpt.yaml');
  writeFileSync(file, 'name: attach\nservices:\n  ticker:\n    command: ["sh", "-c", "while :; do date +tick-%s%N; sleep 0.2; done"]\n');
  const env = { CKPT_STATE_DIR: join(dir, 'state'), CKPT_STORE: join(dir, 'store') };
  const ckpt = (args: string[]) => execa(bin, args, { reject: false, cwd: dir, env: userEnv(env), extendEnv: false, timeout: 60_000 });
  t.teardown(async () => {
    await ckpt(['down', '-p', 'attach', '-t', '1']);
  });
  const up = await ckpt(['up', '-d', '-f', file]);
  t.equal(up.exitCode, 0, up.stderr);
  const read = (re: RegExp): Promise<string> => until('a', re);
  const attach = async (): Promise<void> => {
    await tmux(['kill-server']);
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    await tmux(['new-session', '-d', '-s', 'a', '-x', '80', '-y', '24', `env -u CI ${vars} node ${bin} ui -p attach; echo "[ckpt exited $?]"; sleep 600`]);
  };

  await attach();
  const s = await read(/ticker\s+process\s+running[\s\S]*tick-\d+/);
  t.match(s, /ckpt · attach · 1\/1 running/, 'attached: the header');
  t.match(s, /Logs · ticker \(following\)[\s\S]*tick-\d+/, 'the ticker\'s log');
  await tmux(['send-keys', '-t', 'a', 'q']);
  await read(/Leave stack attach running\?/);
  await tmux(['send-keys', '-t', 'a', 'y']);
  t.match(await read(/\[ckpt exited \d+\]/), /ckpt: left stack attach running[\s\S]*\[ckpt exited 0\]/);
  const ps = await ckpt(['ps', '--json', '-p', 'attach']);
  t.equal(JSON.parse(ps.stdout)[0]?.state, 'running', 'still running after the UI left');

  await attach();
  await read(/ticker\s+process\s+running/);
  await tmux(['send-keys', '-t', 'a', 'q']);
  await read(/Leave stack attach running\?/);
  await tmux(['send-keys', '-t', 'a', 'n']);
  t.match(await read(/\[ckpt exited \d+\]/), /ckpt: stopped stack attach[\s\S]*\[ckpt exited 0\]/);
  t.equal((await ckpt(['ps', '-p', 'attach'])).exitCode, 71, 'n stops the stack');
});
