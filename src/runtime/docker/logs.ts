// Docker's json-file log driver writes one JSON object per line ({"log": "...\n", "stream", "time"});
// `ckpt logs` reads the file itself, like it reads a process service's log, and shows the text.

/** The text of one json-file log line (without its newline); a line that is not JSON as it is. */
export function dockerLogText(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const o = JSON.parse(line) as { log?: unknown };
    return typeof o.log === 'string' ? o.log.replace(/\r?\n$/, '') : line;
  } catch {
    return line;
  }
}
