// The core reports what it does as events; the CLI's plain and JSON outputs and the Ink UI are
// sinks that consume them. The core never prints.

export type ServiceAction =
  | 'starting'
  | 'started'
  | 'running'
  | 'recreating'
  | 'waiting'
  | 'healthy'
  | 'unhealthy'
  | 'exited'
  | 'stopping'
  | 'stopped';

export type CoreEvent =
  | { type: 'service'; project: string; service: string; action: ServiceAction; detail?: string; at: number }
  | { type: 'log'; project: string; service: string; line: string; at: number }
  | {
      type: 'checkpoint' | 'restore';
      project: string;
      set: string;
      /** freezing, frozen, dumping, dumped, thawed, stopped, committing, committed; verifying, restoring, restored */
      phase: string;
      service?: string;
      detail?: Record<string, unknown>;
      at: number;
    }
  | {
      /** bytes dumped or restored so far for one service (how each is measured: core/progress.ts) */
      type: 'progress';
      op: 'checkpoint' | 'restore';
      project: string;
      set: string;
      service: string;
      doneBytes: number;
      /** the expected total; on the final event, the real one */
      totalBytes: number;
      /** since this service's dump or restore began */
      elapsedMs: number;
      /** the last event of this service's dump or restore */
      final?: boolean;
      at: number;
    }
  | {
      /** building a service's image: building, output (each line of Docker's build), built */
      type: 'build';
      project: string;
      service: string;
      phase: string;
      line?: string;
      detail?: Record<string, unknown>;
      at: number;
    }
  | { type: 'message'; level: 'info' | 'warn'; text: string; at: number };

export type EventSink = (e: CoreEvent) => void;

export const nullSink: EventSink = () => {};

/** Build an event with its timestamp. */
export function ev<T extends Omit<CoreEvent, 'at'>>(e: T): T & { at: number } {
  return { ...e, at: Date.now() };
}
