// splitKeys: a chunk of plain text is the keys typed, one by one; special keys pass as they are.
import t from 'tap';
import type { Key } from 'ink';
import { splitKeys } from '../../../src/ui/ink/keys.js';

const none = { upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false, return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false, super: false, hyper: false, capsLock: false, numLock: false } satisfies Key;
const names = (keys: [string, Key][]) =>
  keys.map(([i, k]) => (k.return ? '<enter>' : k.backspace ? '<bs>' : k.tab ? '<tab>' : k.ctrl ? `<ctrl-${i}>` : i));

t.test('plain text with Enter is each character, then Enter', async (t) => {
  t.same(names(splitKeys('pasted\r', none)), ['p', 'a', 's', 't', 'e', 'd', '<enter>']);
  t.same(names(splitKeys('a\nb', none)), ['a', '<enter>', 'b']);
  t.same(names(splitKeys('ab\x7f\b\t\x15', none)), ['a', 'b', '<bs>', '<bs>', '<tab>', '<ctrl-u>']);
  t.equal(splitKeys('Ab', none)[0]![1].shift, true, 'a capital is shifted, as Ink marks it');
});

t.test('a single key and the special keys Ink parsed are passed on unchanged', async (t) => {
  const enter = { ...none, return: true };
  t.same(splitKeys('\r', enter), [['\r', enter]]);
  const up = { ...none, upArrow: true };
  t.same(splitKeys('', up), [['', up]]);
  const meta = { ...none, meta: true };
  t.same(splitKeys('xy', meta), [['xy', meta]], 'a meta chord is not split');
  t.same(splitKeys('x', none), [['x', none]]);
  t.same(splitKeys('', none), [['', none]]);
});

t.test('characters outside the BMP stay whole', async (t) => {
  t.same(names(splitKeys('a😀\r', none)), ['a', '😀', '<enter>']);
});
