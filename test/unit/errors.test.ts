import t from 'tap';
import { CkptError, asCkptError, CODES } from '../../src/errors.js';

t.test('codes map to exit codes', async (t) => {
  const e = new CkptError('MANIFEST_INVALID', 'bad', { hint: 'fix it' });
  t.equal(e.exitCode, 65);
  t.equal(e.hint, 'fix it');
  t.equal(CODES.CHECKPOINT_FAILED, 72);
});

t.test('foreign errors become INTERNAL', async (t) => {
  const e = asCkptError(new TypeError('boom'));
  t.equal(e.code, 'INTERNAL');
  t.equal(e.exitCode, 70);
  t.match(e.message, /boom/);
});
