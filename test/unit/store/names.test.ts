import t from 'tap';
import { checkSetName, isSetName, similarNames } from '../../../src/store/index.js';
import { makeSet, tempStore } from './fixtures/helpers.js';

t.test('set names are like docker tags', async (t) => {
  for (const ok of ['a', 'A', '0', 'before-migration', 'v1.2_seeded', 'x'.repeat(128), '9.9.9', 'a..b', 'A_-.z']) {
    t.ok(isSetName(ok), `${JSON.stringify(ok)} is valid`);
    t.doesNotThrow(() => checkSetName(ok));
  }
  const bad: [string, RegExp][] = [
    ['', /it is empty/],
    ['x'.repeat(129), /129 characters long \(at most 128\)/],
    ['-x', /must start with a letter or a digit/],
    ['.hidden', /must start with a letter or a digit/],
    ['_x', /must start with a letter or a digit/],
    ['..', /must start/],
    ['a/b', /only letters, digits/],
    ['../../etc', /must start/],
    ['a b', /only letters, digits/],
    ['tag:latest', /only letters, digits/],
    ['naïve', /only letters, digits/],
    ['a\n', /only letters, digits/],
  ];
  for (const [name, why] of bad) {
    t.notOk(isSetName(name), `${JSON.stringify(name)} is invalid`);
    t.throws(() => checkSetName(name), { code: 'USAGE', exitCode: 64, message: why, hint: /docker tags/ });
  }
});

t.test('every entry point checks the name before touching the disk', async (t) => {
  const store = tempStore(t);
  await t.rejects(store.beginSet('../evil', { project: 'p', services: ['web'] }), { code: 'USAGE' });
  t.throws(() => store.getSet('../evil'), { code: 'USAGE' });
  t.throws(() => store.setDir('a/b'), { code: 'USAGE' });
  await t.rejects(store.verifySet('.x'), { code: 'USAGE' });
  await t.rejects(store.removeSet('../../etc'), { code: 'USAGE' });
});

t.test('similar names: typos, case, prefixes; not unrelated names', async (t) => {
  const names = ['before-migration', 'nightly', 'nightly-2', 'seeded', 'v1'];
  t.same(similarNames('nigthly', names), ['nightly']);
  t.same(similarNames('nightly-3', names), ['nightly-2', 'nightly']);
  t.same(similarNames('Seeded', names), ['seeded']);
  t.same(similarNames('before', names), ['before-migration']);
  t.same(similarNames('v2', names), ['v1']);
  t.same(similarNames('production', names), []);
  t.same(similarNames('x', []), []);
});

t.test('a mistyped set name gets a "did you mean"', async (t) => {
  const store = tempStore(t);
  t.throws(() => store.getSet('nightly'), {
    code: 'SET_NOT_FOUND',
    exitCode: 74,
    message: `no checkpoint set named "nightly" in ${store.root}`,
    hint: /has no sets yet/,
  });
  await makeSet(store, 'nightly', { web: { 'a.img': 'a' } });
  await makeSet(store, 'before-migration', { web: { 'a.img': 'b' } });
  t.throws(() => store.getSet('nigthly'), { code: 'SET_NOT_FOUND', hint: 'Did you mean "nightly"? `ckpt sets` lists the sets.' });
  t.throws(() => store.serviceDir('nightyl', 'web'), { code: 'SET_NOT_FOUND', hint: /Did you mean "nightly"\?/ });
  await t.rejects(store.verifySet('before-migraton'), { code: 'SET_NOT_FOUND', hint: /Did you mean "before-migration"\?/ });
  await t.rejects(store.removeSet('Nightly'), { code: 'SET_NOT_FOUND', hint: /Did you mean "nightly"\?/ });
  t.throws(() => store.getSet('production'), { code: 'SET_NOT_FOUND', hint: /`ckpt sets` lists the 2 sets in / });
});
