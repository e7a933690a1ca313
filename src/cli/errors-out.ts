import type { CkptError } from '../errors.js';

/** What the user sees when a command fails: what, the details, what to do, where to look. */
export function formatError(err: CkptError, color = false): string {
  const red = (s: string): string => (color ? `\x1b[31m${s}\x1b[0m` : s);
  const lines = [red(`ckpt: ${err.message}`)];
  for (const d of err.details) lines.push(`  ${d}`);
  if (err.hint) lines.push(`hint: ${err.hint}`);
  if (err.logFile) lines.push(`log: ${err.logFile}`);
  if (err.code === 'INTERNAL' && process.env.CKPT_DEBUG && err.cause instanceof Error && err.cause.stack) {
    lines.push(err.cause.stack);
  }
  return lines.join('\n') + '\n';
}

export function printError(err: CkptError, json: boolean): void {
  if (json) {
    process.stderr.write(JSON.stringify({ error: err.toJSON() }) + '\n');
    return;
  }
  process.stderr.write(formatError(err, Boolean(process.stderr.isTTY) && !process.env.NO_COLOR));
}
