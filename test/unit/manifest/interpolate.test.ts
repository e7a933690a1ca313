import t from 'tap';
import { InterpolationError, escapeInterpolation, interpolate, interpolateString } from '../../../src/manifest/interpolate.js';

const env: Record<string, string | undefined> = { SET: 'value', EMPTY: '', HOST: 'db', PORT: '5432' };
const lookup = (n: string): string | undefined => env[n];
const run = (s: string): string => interpolateString(s, lookup).value;

t.test('plain references', async (t) => {
  t.equal(run('no variables'), 'no variables');
  t.equal(run('$SET'), 'value');
  t.equal(run('${SET}'), 'value');
  t.equal(run('pre-${SET}-post'), 'pre-value-post');
  t.equal(run('$HOST:$PORT'), 'db:5432');
  t.equal(run('$SET.x'), 'value.x', 'a name stops at the first non-name character');
  t.equal(run('${SET}x'), 'valuex');
  t.equal(run('$SETx'), '', 'a longer name is a different variable');
});

t.test('unset variables become empty and are reported', async (t) => {
  t.strictSame(interpolateString('a${NOPE}b$NOPE2', lookup), { value: 'ab', unset: ['NOPE', 'NOPE2'] });
  t.strictSame(interpolateString('${NOPE}${NOPE}', lookup).unset, ['NOPE'], 'each once');
  t.strictSame(interpolateString('${EMPTY}', lookup), { value: '', unset: [] }, 'empty is not unset');
});

t.test('$$ is a literal $', async (t) => {
  t.equal(run('$$'), '$');
  t.equal(run('$$SET'), '$SET');
  t.equal(run('$${SET}'), '${SET}');
  t.equal(run('cost: $$5, $$$SET'), 'cost: $5, $value');
  t.equal(escapeInterpolation('a $b $$c'), 'a $$b $$$$c');
  t.equal(run(escapeInterpolation('a $b ${c} $$')), 'a $b ${c} $$', 'escape round-trips');
});

t.test(':- and - defaults', async (t) => {
  t.equal(run('${SET:-d}'), 'value');
  t.equal(run('${EMPTY:-d}'), 'd', ':- applies to empty');
  t.equal(run('${NOPE:-d}'), 'd');
  t.equal(run('${SET-d}'), 'value');
  t.equal(run('${EMPTY-d}'), '', '- does not apply to empty');
  t.equal(run('${NOPE-d}'), 'd');
  t.equal(run('${NOPE:-}'), '', 'empty default');
  t.equal(run('${NOPE:-a b:c/d}'), 'a b:c/d', 'defaults may hold any text');
  t.strictSame(interpolateString('${NOPE:-x}', lookup).unset, [], 'no warning with a default');
});

t.test('nested defaults, and $ inside defaults', async (t) => {
  t.equal(run('${NOPE:-${SET}}'), 'value');
  t.equal(run('${NOPE:-${ALSO_NOPE:-deep}}'), 'deep');
  t.equal(run('${NOPE:-$HOST:$PORT}'), 'db:5432');
  t.equal(run('${NOPE:-$$literal}'), '$literal');
  t.equal(run('${NOPE:-{braces}}'), '{braces}', 'the first unnested } closes the reference; the rest is text');
  t.equal(run('${SET:-${NOPE}}'), 'value', 'an unused default is not evaluated');
  t.strictSame(interpolateString('${SET:-${NOPE}}', lookup).unset, [], '…so it does not warn');
  t.strictSame(interpolateString('${NOPE:-${NOPE2}}', lookup).unset, ['NOPE2']);
});

t.test(':+ and + alternatives', async (t) => {
  t.equal(run('${SET:+alt}'), 'alt');
  t.equal(run('${EMPTY:+alt}'), '');
  t.equal(run('${NOPE:+alt}'), '');
  t.equal(run('${SET+alt}'), 'alt');
  t.equal(run('${EMPTY+alt}'), 'alt', '+ applies to set-but-empty');
  t.equal(run('${NOPE+alt}'), '');
  t.equal(run('${SET:+--host=$HOST}'), '--host=db');
});

t.test(':? and ? required', async (t) => {
  t.equal(run('${SET:?msg}'), 'value');
  t.equal(run('${EMPTY?msg}'), '', '? accepts empty');
  t.throws(() => run('${NOPE:?set NOPE please}'), { name: 'InterpolationError', message: 'required variable NOPE is not set: set NOPE please' });
  t.throws(() => run('${EMPTY:?must not be empty}'), { message: 'required variable EMPTY is empty: must not be empty' });
  t.throws(() => run('${NOPE?}'), { message: 'required variable NOPE is not set' });
  t.throws(() => run('${NOPE:?need $HOST}'), { message: 'required variable NOPE is not set: need db' }, 'the message is interpolated');
  try {
    run('${NOPE:?x}');
  } catch (e) {
    t.ok(e instanceof InterpolationError);
    t.match((e as InterpolationError).hint, /NOPE/);
  }
});

t.test('syntax errors', async (t) => {
  const hint = 'You may need to escape any $ with another $.';
  t.throws(() => run('echo ${HOME'), { message: 'unterminated "${" in "echo ${HOME"', hint });
  t.throws(() => run('${A:-${B}'), { message: /unterminated/ });
  t.throws(() => run('cost $5'), { message: '"$5" is not a valid interpolation in "cost $5" — a "$" must be followed by a variable name, "{" or "$"', hint });
  t.throws(() => run('end$'), { message: '"end$" ends with a lone "$"', hint });
  t.throws(() => run('${1A}'), { message: /"\$\{1A\}" is not a valid variable reference/ });
  t.throws(() => run('${}'), { message: /not a valid variable reference/ });
  t.throws(() => run('${A:x}'), { message: /not a valid variable reference/ });
  t.throws(() => run('${A B}'), { message: /not a valid variable reference/ });
});

t.test('interpolate walks values, not keys, and reports paths', async (t) => {
  const r = interpolate(
    { services: { web: { image: 'app:${SET}', environment: { $KEY: '$NOPE', N: 5, B: true }, command: ['a', '${BAD'] } } },
    env,
  );
  t.strictSame(r.value, {
    services: { web: { image: 'app:value', environment: { $KEY: '', N: 5, B: true }, command: ['a', '${BAD'] } },
  });
  t.strictSame(r.warnings.map((w) => [w.at, w.message]), [
    [['services', 'web', 'environment', '$KEY'], 'the "NOPE" variable is not set; using an empty string'],
  ]);
  t.strictSame(r.issues.map((i) => [i.at, i.message]), [[['services', 'web', 'command', 1], 'unterminated "${" in "${BAD"']]);
  t.equal(r.issues[0]!.hint, 'You may need to escape any $ with another $.');
});

t.test('a __proto__ key stays a plain key', async (t) => {
  const input = JSON.parse('{"__proto__": {"polluted": "$SET"}}') as Record<string, unknown>;
  const r = interpolate(input, env);
  t.strictSame(Object.keys(r.value as object), ['__proto__']);
  t.equal(({} as Record<string, unknown>)['polluted'], undefined);
});

t.test('interpolated values become numbers and booleans where compose casts them', async (t) => {
  const r = interpolate(
    {
      services: {
        a: {
          healthcheck: { retries: '${R}', disable: '${OFF}' },
          ports: ['${P}', { target: '${P}', published: '${P}' }],
          user: '${UID}',
          volumes: [{ read_only: '${YES}' }],
          environment: { N: '${P}' },
          command: ['${P}'],
        },
      },
      other: '${P}',
    },
    { R: '3', OFF: 'false', P: '80', UID: '1000', YES: 'Yes' },
  );
  t.strictSame(r.value, {
    services: {
      a: {
        healthcheck: { retries: 3, disable: false },
        ports: [80, { target: 80, published: 80 }],
        user: 1000,
        volumes: [{ read_only: true }],
        environment: { N: '80' },
        command: ['80'],
      },
    },
    other: '80',
  });
  const literal = interpolate({ services: { a: { healthcheck: { retries: '3' } } } }, {});
  t.strictSame(literal.value, { services: { a: { healthcheck: { retries: '3' } } } }, 'a string without $ stays a string');
  const notNumber = interpolate({ services: { a: { healthcheck: { retries: '${R}' } } } }, { R: 'many' });
  t.strictSame(notNumber.value, { services: { a: { healthcheck: { retries: 'many' } } } }, 'then validation reports it');
});
