import t from 'tap';
import { formatDuration, parseDuration } from '../../../src/manifest/durations.js';

t.test('parses compose (Go) durations to milliseconds', async (t) => {
  const cases: [string, number][] = [
    ['0', 0],
    ['0s', 0],
    ['10s', 10_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1h2m3s', 3_723_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m', 120_000],
    ['1500us', 2], // 1.5 ms rounds to 2
    ['1500µs', 2],
    ['1500μs', 2],
    ['3000000ns', 3],
    ['+5s', 5000],
    ['1s500ms', 1500],
  ];
  for (const [s, ms] of cases) t.equal(parseDuration(s), ms, s);
});

t.test('rejects what Go rejects, and negatives', async (t) => {
  const cases: [string, RegExp][] = [
    ['', /is empty/],
    ['10', /the number 10 has no unit/],
    ['1.5', /has no unit/],
    ['10 seconds', /contains a blank/],
    ['1d', /unknown unit "d"/],
    ['10sec', /unknown unit "sec"/],
    ['s', /is not a duration —/],
    ['-1s', /negative/],
    ['+', /no number/],
    ['soon', /"soon" is not a duration — write a number with a unit/],
  ];
  for (const [s, re] of cases) t.throws(() => parseDuration(s), { name: 'DurationError', message: re }, s);
});

t.test('formats milliseconds back', async (t) => {
  const cases: [number, string][] = [
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [1250, '1.25s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
    [3_723_000, '1h2m3s'],
    [3_660_000, '1h1m'],
  ];
  for (const [ms, s] of cases) {
    t.equal(formatDuration(ms), s, String(ms));
    t.equal(parseDuration(formatDuration(ms)), ms, `${ms} round-trips`);
  }
});
