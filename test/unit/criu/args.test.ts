// CRIU's command lines, as ckpt builds them (pure functions).
import t from 'tap';
import { dumpArgs, restoreArgs } from '../../../src/criu/args.js';

t.test('TCP: connections kept by default, closed with tcp: close at dump and at restore', async (t) => {
  const base = { pid: 42, imagesDir: '/s/app', leaveRunning: true };
  t.ok(dumpArgs(base).includes('--tcp-established'));
  t.ok(dumpArgs(base).includes('--skip-in-flight'), 'a connection not accepted yet is left out, not a failed dump');
  t.notOk(dumpArgs(base).includes('--tcp-close'));
  const closed = dumpArgs({ ...base, tcpClose: true });
  t.ok(closed.includes('--tcp-close'));
  t.notOk(closed.includes('--tcp-established'), 'not both: the connections are not dumped');
  const r = { imagesDir: '/s/app', workDir: '/w', pidFile: '/w/pid' };
  t.notOk(restoreArgs(r).includes('--tcp-close'));
  t.ok(restoreArgs({ ...r, tcpClose: true }).includes('--tcp-close'), 'CRIU refuses a tcp-close image without it');
});

t.test('a tree under a restore\'s pid namespace holder: the namespace is external', async (t) => {
  const a = dumpArgs({ pid: 42, imagesDir: '/s/app', leaveRunning: true, externalPidns: { inode: '4026532323', key: 'ckpt-pidns' } });
  t.same(a.slice(a.indexOf('pid[4026532323]:ckpt-pidns') - 1, a.indexOf('pid[4026532323]:ckpt-pidns') + 1), ['--external', 'pid[4026532323]:ckpt-pidns']);
});
