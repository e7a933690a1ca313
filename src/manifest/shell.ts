// Splitting a string `command:` into argv, like compose (which uses go-shellwords): POSIX-shell
// word splitting with quotes and backslashes, and nothing else — no variables (interpolation
// already happened), no globbing, no pipes. Compose silently stops at an unquoted `|`, `&&`, `;`,
// `<` or `>` and drops the rest of the line; ckpt reports it instead, because the program would
// otherwise run with a truncated command line.

export class ShellSplitError extends Error {
  override name = 'ShellSplitError';
}

const OPERATORS = new Set([';', '&', '|', '<', '>']);

/**
 * Split `s` into words.
 * - blanks (space, tab, newline) separate words outside quotes;
 * - `'…'` is literal; `"…"` is literal except that `\` escapes `$`, `` ` ``, `"`, `\` and newline;
 * - outside quotes `\x` is `x`, and `\<newline>` joins lines;
 * - `''` and `""` give empty words.
 */
export function splitShell(s: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (c === '\\') {
      if (i + 1 >= s.length) throw new ShellSplitError('ends with a lone backslash — write `\\\\` for a literal backslash');
      const n = s[i + 1]!;
      if (n !== '\n') {
        word += n;
        inWord = true;
      }
      i += 2;
      continue;
    }
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new ShellSplitError(`has an unclosed single quote at character ${i + 1}`);
      word += s.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let closed = false;
      while (j < s.length) {
        const d = s[j]!;
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === '\\' && j + 1 < s.length && '$`"\\\n'.includes(s[j + 1]!)) {
          if (s[j + 1] !== '\n') word += s[j + 1];
          j += 2;
          continue;
        }
        word += d;
        j++;
      }
      if (!closed) throw new ShellSplitError(`has an unclosed double quote at character ${i + 1}`);
      inWord = true;
      i = j + 1;
      continue;
    }
    if (OPERATORS.has(c)) {
      let op = c;
      if (i + 1 < s.length && (s[i + 1] === c || (c === '>' && s[i + 1] === '&'))) op += s[i + 1];
      throw new ShellSplitError(
        `contains the shell operator \`${op}\`, but a string command is split into words, not run by a shell — ` +
          `quote it, or write a list: ["/bin/sh", "-c", "…"]`,
      );
    }
    word += c;
    inWord = true;
    i++;
  }
  if (inWord) words.push(word);
  return words;
}

/** Quote argv back into one string that `splitShell` turns into the same argv. */
export function joinShell(argv: readonly string[]): string {
  return argv
    .map((a) => (a !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
