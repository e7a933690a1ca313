// One read from the terminal can hold several keys: a paste, fast typing, or tmux send-keys with
// a word and Enter. Ink splits escape sequences apart but hands plain text over as one string
// ("pasted\r", with key.return false), so a prompt would take the name and lose the Enter. The
// UI's handlers take one key at a time; this turns a chunk back into the keys that were typed.
import type { Key } from 'ink';

const NO_KEY: Key = {
  upArrow: false,
  downArrow: false,
  leftArrow: false,
  rightArrow: false,
  pageDown: false,
  pageUp: false,
  home: false,
  end: false,
  return: false,
  escape: false,
  ctrl: false,
  shift: false,
  tab: false,
  backspace: false,
  delete: false,
  meta: false,
  super: false,
  hyper: false,
  capsLock: false,
  numLock: false,
};

/** What one character of a plain chunk is as a key, in the terms Ink uses for a single key. */
function charKey(ch: string): [string, Key] {
  const code = ch.codePointAt(0)!;
  if (ch === '\r' || ch === '\n') return ['', { ...NO_KEY, return: true }];
  if (ch === '\t') return ['', { ...NO_KEY, tab: true }];
  if (ch === '\x7f' || ch === '\b') return ['', { ...NO_KEY, backspace: true }];
  // ctrl-a … ctrl-z arrive as 1 … 26: Ink names them by their letter, with ctrl set
  if (code >= 1 && code <= 26) return [String.fromCharCode(code + 96), { ...NO_KEY, ctrl: true }];
  return [ch, { ...NO_KEY, shift: /[A-Z]/.test(ch) }];
}

/**
 * The keys in one input event. A single key, or anything Ink recognised as a special key (an
 * arrow, escape, a modifier), is passed on as it is; plain text of several characters is split.
 */
export function splitKeys(input: string, key: Key): [string, Key][] {
  const special = key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.pageDown || key.pageUp || key.home || key.end || key.escape || key.meta || key.tab || key.delete;
  const chars = [...input];
  if (special || chars.length <= 1 || input.includes('\x1b')) return [[input, key]];
  return chars.map(charKey);
}
