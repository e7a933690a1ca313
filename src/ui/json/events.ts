// The JSON sink: one JSON object per line (like `docker compose --progress json`).
import type { CoreEvent, EventSink } from '../../core/events.js';

export function jsonSink(write: (s: string) => void = (s) => process.stdout.write(s)): EventSink {
  return (e: CoreEvent) => write(JSON.stringify(e) + '\n');
}
