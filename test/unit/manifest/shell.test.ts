import t from 'tap';
import { joinShell, splitShell, ShellSplitError } from '../../../src/manifest/shell.js';

t.test('blanks separate words', async (t) => {
  t.strictSame(splitShell('a b  c'), ['a', 'b', 'c']);
  t.strictSame(splitShell('  lead and trail  '), ['lead', 'and', 'trail']);
  t.strictSame(splitShell('tabs\tand\nnewlines'), ['tabs', 'and', 'newlines']);
  t.strictSame(splitShell(''), []);
  t.strictSame(splitShell('   '), []);
});

t.test('single quotes are literal', async (t) => {
  t.strictSame(splitShell("echo 'a b'"), ['echo', 'a b']);
  t.strictSame(splitShell("'a\\b' '$x' '\"'"), ['a\\b', '$x', '"']);
  t.strictSame(splitShell("''"), [''], 'empty quotes make an empty word');
  t.strictSame(splitShell("a'b'c"), ['abc'], 'quotes join with adjacent text');
  t.strictSame(splitShell("sh -c 'a; b | c && d'"), ['sh', '-c', 'a; b | c && d'], 'operators inside quotes are text');
});

t.test('double quotes: backslash escapes only $ ` " \\ and newline', async (t) => {
  t.strictSame(splitShell('"a b"'), ['a b']);
  t.strictSame(splitShell('"say \\"hi\\""'), ['say "hi"']);
  t.strictSame(splitShell('"back\\\\slash"'), ['back\\slash']);
  t.strictSame(splitShell('"keep \\n and \\t"'), ['keep \\n and \\t']);
  t.strictSame(splitShell('"\\$HOME"'), ['$HOME']);
  t.strictSame(splitShell('"line\\\ncontinued"'), ['linecontinued']);
  t.strictSame(splitShell('""'), ['']);
  t.strictSame(splitShell('"it\'s"'), ["it's"]);
});

t.test('backslash outside quotes escapes the next character', async (t) => {
  t.strictSame(splitShell('a\\ b'), ['a b']);
  t.strictSame(splitShell('\\"quoted\\"'), ['"quoted"']);
  t.strictSame(splitShell('\\\\'), ['\\']);
  t.strictSame(splitShell('one \\\ntwo'), ['one', 'two'], 'backslash-newline joins lines');
  t.strictSame(splitShell('a\\|b'), ['a|b'], 'an escaped operator is text');
});

t.test('errors', async (t) => {
  t.throws(() => splitShell('echo "unclosed'), { name: 'ShellSplitError', message: 'has an unclosed double quote at character 6' });
  t.throws(() => splitShell("it's"), { message: 'has an unclosed single quote at character 3' });
  t.throws(() => splitShell('trailing\\'), { message: /lone backslash/ });
  for (const [cmd, op] of [
    ['make && make install', '&&'],
    ['a | b', '|'],
    ['a || b', '||'],
    ['a; b', ';'],
    ['run > out.log', '>'],
    ['run 2>&1', '>&'],
    ['run < in', '<'],
    ['daemon &', '&'],
  ] as const) {
    t.throws(() => splitShell(cmd), { message: new RegExp('shell operator `' + op.replace(/[|&]/g, '\\$&') + '`') }, cmd);
  }
  t.ok(new ShellSplitError('x') instanceof Error);
});

t.test('joinShell quotes what splitShell needs', async (t) => {
  const cases = [['a', 'b c', '', "it's", '$x', 'back\\slash', 'new\nline', '--opt=1,2:3/4.5@%+']];
  for (const argv of cases) t.strictSame(splitShell(joinShell(argv)), argv);
  t.equal(joinShell(['echo', 'hi there']), "echo 'hi there'");
});
