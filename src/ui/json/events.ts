// The JSON sink: one JSON object per line (like `docker compose --progress json`).
import type { CoreEvent, EventSink } from '../../core/events.js';

export interface JsonSinkOptions {
  /** every progress event (several a second per service), not only each service's final one */
  progress?: boolean;
}

export function jsonSink(write: (s: string) => void = (s) => process.stdout.write(s), opts: JsonSinkOptions = {}): EventSink {
  return (e: CoreEvent) => {
    if (e.type === 'progress' && !e.final && !opts.progress) return;
    write(JSON.stringify(e) + '\n');
  };
}
