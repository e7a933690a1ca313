import t from 'tap';
import { LineCounter, parseDocument } from 'yaml';
import { Locator, didYouMean, formatIssues, formatPath, manifestError } from '../../../src/manifest/problems.js';

t.test('did you mean', async (t) => {
  const keys = ['command', 'entrypoint', 'environment', 'env_file', 'depends_on', 'image', 'ports', 'restart'];
  t.equal(didYouMean('enviroment', keys), 'environment');
  t.equal(didYouMean('comand', keys), 'command');
  t.equal(didYouMean('dependson', keys), 'depends_on');
  t.equal(didYouMean('imgae', keys), 'image');
  t.equal(didYouMean('port', keys), 'ports');
  t.equal(didYouMean('restart_policy', keys), 'restart', 'prefix');
  t.equal(didYouMean('container_name', keys), undefined);
  t.equal(didYouMean('sctp', ['tcp', 'udp']), undefined, 'short words need a closer match');
  t.equal(didYouMean('xx', ['ab']), undefined, 'not everything is a typo');
  t.equal(didYouMean('dbb', ['db', 'web']), 'db');
});

t.test('formatPath', async (t) => {
  t.equal(formatPath([]), '');
  t.equal(formatPath(['services', 'web', 'ports', 0]), 'services.web.ports[0]');
  t.equal(formatPath(['services', 'my web', 'x-ckpt']), 'services["my web"].x-ckpt');
  t.equal(formatPath(['services', 'a.b']), 'services["a.b"]');
});

t.test('the locator follows paths through maps, lists, aliases and merge keys', async (t) => {
  const src = ['x: &x', '  a: 1', 'list:', '  - one', '  - {k: v}', 'm:', '  <<: *x', '  b: 2', 'ref: *x', 'empty:', ''].join('\n');
  const lc = new LineCounter();
  const doc = parseDocument(src, { lineCounter: lc, merge: true });
  const loc = new Locator(doc, lc);
  t.strictSame(loc.locate([]), { line: 1, col: 1 });
  t.strictSame(loc.locate(['x', 'a']), { line: 2, col: 6 });
  t.strictSame(loc.locate(['x', 'a'], true), { line: 2, col: 3 });
  t.strictSame(loc.locate(['list', 1, 'k']), { line: 5, col: 9 });
  t.strictSame(loc.locate(['m', 'a']), { line: 2, col: 6 }, 'through a merge key');
  t.strictSame(loc.locate(['m', 'b']), { line: 8, col: 6 });
  t.strictSame(loc.locate(['ref', 'a']), { line: 2, col: 6 }, 'through an alias');
  t.strictSame(loc.locate(['empty']), { line: 10, col: 1 }, 'an empty value points at its key');
  t.strictSame(loc.locate(['list', 9]), { line: 4, col: 3 }, 'a missing item: its list');
  t.strictSame(loc.locate(['nope', 'deeper']), { line: 1, col: 1 }, 'a missing key: the nearest ancestor');
});

t.test('issues sort by position and dedupe; the error counts them', async (t) => {
  const lc = new LineCounter();
  const doc = parseDocument('a: 1\nb: 2\n', { lineCounter: lc });
  const loc = new Locator(doc, lc);
  const issues = [
    { at: ['b'], message: 'second' },
    { at: ['a'], message: 'first' },
    { at: ['a'], message: 'first' },
    { at: [], fileLevel: true, message: 'whole file' },
    { at: [], file: '.env', pos: { line: 1, col: 1 }, message: 'other file' },
  ];
  t.strictSame(formatIssues(issues, 'f.yaml', loc), ['f.yaml: whole file', 'f.yaml:1:4: a: first', 'f.yaml:2:4: b: second', '.env:1:1: other file']);
  const err = manifestError([{ at: ['a'], message: 'x', hint: 'H2' }, { at: ['b'], message: 'y', hint: 'H1' }, { at: ['b'], message: 'z', hint: 'H1' }], 'f.yaml', loc);
  t.equal(err.message, 'f.yaml: 3 problems');
  t.equal(err.hint, 'H1 H2');
  t.equal(manifestError([{ at: ['a'], message: 'x' }], 'f.yaml', loc).message, 'f.yaml: 1 problem');
  t.match(manifestError([{ at: ['a'], message: 'x' }], 'f.yaml', loc).hint, /schema/);
});
