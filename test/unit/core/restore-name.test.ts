// A restore under another name (clone --as, restore -p) checks the name before anything is made:
// it names containers, cgroups and state directories, and Docker would refuse it half-way.
import t from 'tap';
import * as core from '../../../src/core/index.js';

t.test('restore and clone refuse a project name compose would refuse, before reading the store', async (t) => {
  const dir = t.testdir({});
  const ctx: core.CoreContext = { stateRoot: `${dir}/state`, events: core.nullSink };
  for (const as of ['Bad Name!', 'x/y', '-lead', 'UPPER', '']) {
    await t.rejects(core.restore(ctx, 'no-such-set', { storeRoot: `${dir}/store`, as }), { code: 'USAGE', exitCode: 64, message: /project name .* is not valid/ }, JSON.stringify(as));
  }
  await t.rejects(core.restore(ctx, 'no-such-set', { storeRoot: `${dir}/store`, as: 'good_name-2' }), { code: 'SET_NOT_FOUND' }, 'a valid name gets as far as the store');
});
