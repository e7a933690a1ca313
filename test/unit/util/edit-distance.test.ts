import t from 'tap';
import { editDistance } from '../../../src/util/edit-distance.js';

t.test('edit distance counts transpositions as one', async (t) => {
  t.equal(editDistance('', ''), 0);
  t.equal(editDistance('abc', 'abc'), 0);
  t.equal(editDistance('enviroment', 'environment'), 1);
  t.equal(editDistance('netwrok', 'network'), 1);
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('', 'abc'), 3);
});

t.test('a swap of two letters is one edit', async (t) => {
  t.equal(editDistance('nigthly', 'nightly'), 1);
  t.equal(editDistance('nightl', 'nightly'), 1);
});
