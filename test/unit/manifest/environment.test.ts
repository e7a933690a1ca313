import t from 'tap';
import { dotenvToMap, parseDotenv, resolveEnvironment, splitAssignment } from '../../../src/manifest/environment.js';

const outer: Record<string, string> = { HOME: '/home/u', FROM_ENV: 'outer' };
const lookup = (n: string): string | undefined => outer[n];

t.test('map form: strings, numbers, booleans, null', async (t) => {
  t.strictSame(resolveEnvironment({ S: 'x', N: 42, F: 1.5, B: false, E: '', FROM_ENV: null, MISSING: null }, lookup), {
    S: 'x',
    N: '42',
    F: '1.5',
    B: 'false',
    E: '',
    FROM_ENV: 'outer',
  });
});

t.test('list form: K=V, K, later wins', async (t) => {
  t.strictSame(resolveEnvironment(['A=1', 'B=x=y', 'C=', 'FROM_ENV', 'MISSING', 'A=2'], lookup), {
    A: '2',
    B: 'x=y',
    C: '',
    FROM_ENV: 'outer',
  });
  t.strictSame(resolveEnvironment(['A=1', 'A'], () => undefined), {}, 'a later bare unset name removes the variable');
  t.strictSame(resolveEnvironment(undefined, lookup), {});
});

t.test('splitAssignment', async (t) => {
  t.strictSame(splitAssignment('K=V'), ['K', 'V']);
  t.strictSame(splitAssignment('K='), ['K', '']);
  t.strictSame(splitAssignment('K'), ['K', undefined]);
  t.throws(() => splitAssignment('=V'), /no variable name/);
  t.throws(() => splitAssignment('A B=1'), /contains a blank/);
});

t.test('dotenv files', async (t) => {
  const text = [
    '# comment',
    '',
    'PLAIN=value',
    'SPACED =  padded value   ',
    'export EXPORTED=yes',
    'COMMENTED=value # a comment',
    'HASH=a#b',
    "SINGLE='literal $HOME # not a comment'",
    'DOUBLE="line1\\nline2 \\"q\\" \\$HOME"',
    'EXPANDED=$HOME/x',
    'OWN=${PLAIN}-${EXPORTED}',
    'FROM_ENV=inner',
    'USES_FROM_ENV=${FROM_ENV}',
    'MULTI="first',
    'second"',
    'BARE',
    'BARE_UNSET',
    'EMPTY=',
  ].join('\n');
  const d = parseDotenv(text, lookup);
  t.strictSame(d.errors, []);
  t.strictSame(dotenvToMap(d, lookup), {
    PLAIN: 'value',
    SPACED: 'padded value',
    EXPORTED: 'yes',
    COMMENTED: 'value',
    HASH: 'a#b',
    SINGLE: 'literal $HOME # not a comment',
    DOUBLE: 'line1\nline2 "q" $HOME',
    EXPANDED: '/home/u/x',
    OWN: 'value-yes',
    FROM_ENV: 'inner',
    USES_FROM_ENV: 'outer',
    MULTI: 'first\nsecond',
    EMPTY: '',
  });
  t.strictSame(d.entries.find(([k]) => k === 'BARE'), ['BARE', undefined], 'a bare name has no value of its own');
  t.equal(dotenvToMap(parseDotenv('FROM_ENV'), lookup)['FROM_ENV'], 'outer', 'a bare name takes the outer value');
});

t.test('dotenv errors carry line numbers', async (t) => {
  const d = parseDotenv(['OK=1', '1BAD=x', '', 'S=\'x\' trailing', 'I=${oops', 'Q="open', 'never closed'].join('\n'));
  t.strictSame(d.errors, [
    { line: 2, message: '"1BAD" is not a variable name — use letters, digits and _ (not starting with a digit)' },
    { line: 4, message: 'unexpected text after the quoted value of S: "trailing"' },
    { line: 5, message: 'unterminated "${" in "${oops"' },
    { line: 6, message: 'the value of Q has an unclosed double quote' },
  ]);
  t.strictSame(d.entries, [['OK', '1']]);
});

t.test('dotenv: BOM and CRLF', async (t) => {
  t.strictSame(dotenvToMap(parseDotenv('\uFEFFA=1\r\nB=2\r\n')), { A: '1', B: '2' });
});
