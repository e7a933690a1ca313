// Compose durations are Go durations (time.ParseDuration): a sequence of decimal numbers, each
// with a unit — "1m30s", "500ms", "1.5h", "10s" — or the bare "0". ckpt keeps milliseconds.

export class DurationError extends Error {
  override name = 'DurationError';
}

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3, // U+00B5 micro sign
  'μs': 1e-3, // U+03BC Greek mu
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/;

/** Parse a duration to milliseconds (rounded to the nearest millisecond). */
export function parseDuration(s: string): number {
  const bad = (why?: string): DurationError =>
    new DurationError(
      `${JSON.stringify(s)} is not a duration${why === undefined ? '' : `: ${why}`} — write a number with a unit, like 500ms, 10s or 1m30s`,
    );
  if (s === '0') return 0;
  if (s === '') throw bad('it is empty');
  if (s.startsWith('-')) throw bad('it is negative');
  let rest = s.startsWith('+') ? s.slice(1) : s;
  if (rest === '') throw bad('it has no number');
  let total = 0;
  while (rest !== '') {
    const m = PART.exec(rest);
    if (!m) {
      if (/^[0-9.]+$/.test(rest)) throw bad(`the number ${rest} has no unit`);
      if (/\s/.test(s)) throw bad('it contains a blank');
      throw bad();
    }
    const [whole, num, unit] = m as unknown as [string, string, string];
    if (num === '' || num === '.') throw bad();
    const factor = UNIT_MS[unit];
    if (factor === undefined) throw bad(`unknown unit ${JSON.stringify(unit)} (use ns, us, ms, s, m or h)`);
    total += Number(num) * factor;
    rest = rest.slice(whole.length);
  }
  if (!Number.isFinite(total) || total > Number.MAX_SAFE_INTEGER) throw bad('it is too long');
  return Math.round(total);
}

/** Milliseconds back to a compose duration: 90000 → "1m30s", 500 → "500ms", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  let out = '';
  let rest = ms;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h > 0) out += `${h}h`;
  if (m > 0) out += `${m}m`;
  if (rest > 0) {
    const whole = Math.floor(rest / 1000);
    const frac = rest % 1000;
    out += frac === 0 ? `${whole}s` : `${whole}.${String(frac).padStart(3, '0').replace(/0+$/, '')}s`;
  }
  return out;
}
