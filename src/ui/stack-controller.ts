// What the terminal UI shows and does, apart from drawing: one stack's services, the store's sets,
// the selected service's log, the progress of a checkpoint or restore, and the actions behind the
// keys. It is a sink of the core's events and calls only the core API; the Ink components read
// its snapshots (subscribe/snapshot suit React's useSyncExternalStore).
import * as core from '../core/index.js';
import { ProgressBoard, type ServiceProgress } from './progress.js';

export interface ServiceRow extends core.PsRow {
  /** share of one CPU over the last refresh interval, in percent */
  cpuPercent?: number;
}

export interface StatusLine {
  level: 'info' | 'warn' | 'error';
  text: string;
}

export interface InspectView {
  set: string;
  lines: string[];
}

export interface UiSnapshot {
  project: string;
  storeRoot: string;
  /** the stack has state (it may have stopped services) */
  stackUp: boolean;
  /** the set the running stack was restored from */
  fromSet?: string;
  rows: ServiceRow[];
  sets: core.SetInfo[];
  /** per service, the last lines of its output */
  logs: Record<string, string[]>;
  progress: ServiceProgress[];
  /** what is being done now ("checkpoint warm: dumping"), while an action runs */
  busy?: string;
  /** the action the progress bars belong to ("checkpoint warm") */
  progressTitle?: string;
  status?: StatusLine;
  inspect?: InspectView;
  /** set once quit has finished: the UI unmounts */
  quitting?: 'leave' | 'stop';
}

export interface ControllerOptions {
  stateRoot: string;
  storeRoot: string;
  project: string;
  /** how often ps and the set list are read again */
  refreshMs?: number;
  /** lines kept per service */
  logLines?: number;
}

const CLOCK_TICKS = 100;

export class StackController {
  private state: UiSnapshot;
  private readonly listeners = new Set<() => void>();
  private readonly board = new ProgressBoard();
  private readonly ctx: core.CoreContext;
  private readonly refreshMs: number;
  private readonly logLines: number;
  private timer: NodeJS.Timeout | undefined;
  private logsAbort: AbortController | undefined;
  private stopped = false;
  private readonly cpu = new Map<string, { ticks: number; at: number; pid?: number }>();
  private refreshing: Promise<void> | undefined;

  constructor(private readonly opts: ControllerOptions) {
    this.refreshMs = opts.refreshMs ?? 1000;
    this.logLines = opts.logLines ?? 500;
    this.ctx = { stateRoot: opts.stateRoot, events: (e) => this.onEvent(e) };
    this.state = { project: opts.project, storeRoot: opts.storeRoot, stackUp: false, rows: [], sets: [], logs: {}, progress: [] };
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  snapshot = (): UiSnapshot => this.state;

  private set(patch: Partial<UiSnapshot>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  /** The sink the core reports to while the UI runs. */
  private onEvent(e: core.CoreEvent): void {
    if (this.board.apply(e)) {
      this.set({ progress: this.board.rows() });
      return;
    }
    switch (e.type) {
      case 'log': {
        const lines = [...(this.state.logs[e.service] ?? []), e.line].slice(-this.logLines);
        this.set({ logs: { ...this.state.logs, [e.service]: lines } });
        break;
      }
      case 'service':
        if (this.state.busy) this.set({ busy: `${this.busyTitle}: ${e.service} ${e.action}` });
        else this.set({ status: { level: 'info', text: `${e.service} ${e.action}${e.detail ? ` (${e.detail})` : ''}` } });
        break;
      case 'checkpoint':
      case 'restore':
        if (this.state.busy) this.set({ busy: `${this.busyTitle}: ${e.service ? `${e.service} ` : ''}${e.phase}` });
        break;
      case 'build': {
        // the build's output goes to the service's log pane; its steps to the status line
        const step = e.line && /^Step \d+\/\d+ :/.test(e.line) ? e.line : undefined;
        if (e.line) this.set({ logs: { ...this.state.logs, [e.service]: [...(this.state.logs[e.service] ?? []), e.line].slice(-this.logLines) } });
        const what = e.phase === 'output' ? step : `${e.phase}${e.phase === 'building' ? ` ${String(e.detail?.image)}` : ''}`;
        if (what) this.set(this.state.busy ? { busy: `${this.busyTitle}: ${e.service} ${what}` } : { status: { level: 'info', text: `${e.service} ${what}` } });
        break;
      }
      case 'message':
        this.set({ status: { level: e.level, text: e.text } });
        break;
    }
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /**
   * `ckpt up`: bring the stack up, then watch it. Resolves with the error that kept the stack from coming up, or 'interrupted' when quitting
   * cut it short, or undefined: what the command's exit code says.
   */
  async up(project: core.Project, opts: { build?: boolean } = {}): Promise<core.CkptError | 'interrupted' | undefined> {
    const abort = new AbortController();
    this.upAbort = abort;
    let failed: core.CkptError | 'interrupted' | undefined;
    await this.run(`up ${project.name}`, async () => {
      this.startWatching();
      try {
        await core.up(this.ctx, project, { signal: abort.signal, ...(opts.build ? { build: true } : {}) });
      } catch (e) {
        failed = abort.signal.aborted ? 'interrupted' : core.asCkptError(e);
        throw e;
      }
    });
    this.upAbort = undefined;
    return failed;
  }

  private upAbort: AbortController | undefined;

  /** Quitting waits for nothing but a checkpoint, restore or clone (whose end it must not cut). */
  canQuitNow(): boolean {
    return !this.state.busy || !this.holdPs;
  }

  /** `ckpt ui`: watch a stack that is already running. */
  async attach(): Promise<void> {
    if (!core.readStack(this.ctx, this.opts.project)) {
      throw new core.CkptError('STACK_NOT_RUNNING', `no stack named ${this.opts.project} is running`, {
        hint: 'Start it with `ckpt up`, or list running stacks with `ckpt ls`.',
      });
    }
    this.startWatching();
    await this.refresh();
  }

  private startWatching(): void {
    void this.followLogs();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
  }

  /** Stops watching; with 'stop', takes the stack down first. */
  async quit(how: 'leave' | 'stop'): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.logsAbort?.abort();
    // an up still waiting for a service's health gives up; then the stack is free to go down
    this.upAbort?.abort();
    await this.current?.catch(() => undefined);
    if (how === 'stop' && core.readStack(this.ctx, this.opts.project)) {
      this.busyTitle = 'stopping the stack';
      this.set({ busy: this.busyTitle });
      try {
        await core.down(this.ctx, this.opts.project);
      } catch (e) {
        this.set({ status: { level: 'error', text: core.asCkptError(e).message } });
      }
    }
    this.set({ busy: undefined, quitting: how });
  }

  /**
   * Follows every service's output. core.logs ends when no service runs (a restore replacing
   * the stack, every service stopped), so it is started again: from the start of the logs of a
   * stack that was replaced (a restore writes fresh ones), from where it was otherwise.
   */
  private async followLogs(): Promise<void> {
    let seen: { stack: string; services: string } | undefined;
    while (!this.stopped) {
      const st = core.readStack(this.ctx, this.opts.project);
      if (st) {
        const now = { stack: st.createdAt, services: Object.values(st.services).map((r) => `${r.service}@${r.startedAt}`).sort().join(',') };
        let tail: number | undefined;
        if (!seen) tail = 200;
        else if (now.stack === seen.stack && now.services === seen.services) tail = 0;
        if (seen && now.stack !== seen.stack) this.markLogs(st.fromSet ? `── restored from ${st.fromSet} ──` : '── stack recreated ──');
        seen = now;
        this.logsAbort = new AbortController();
        try {
          await core.logs({ stateRoot: this.opts.stateRoot, events: (e) => this.onEvent(e) }, this.opts.project, {
            follow: true,
            signal: this.logsAbort.signal,
            ...(tail === undefined ? {} : { tail }),
          });
        } catch {
          /* the stack went away meanwhile */
        }
      }
      if (this.stopped) return;
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  private markLogs(line: string): void {
    const logs: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(this.state.logs)) logs[k] = [...v, line].slice(-this.logLines);
    this.set({ logs });
  }

  /**
   * While a checkpoint or restore runs, ps is not polled: its health probes would exec into
   * services that are frozen (and wait there), or into trees being dumped or restored.
   */
  private holdPs = false;

  async refresh(): Promise<void> {
    if (this.holdPs) return;
    if (this.refreshing) return this.refreshing;
    this.refreshing = (async () => {
      const stack = core.readStack(this.ctx, this.opts.project);
      let rows: ServiceRow[] = [];
      if (stack) {
        try {
          rows = (await core.ps({ ...this.ctx, events: core.nullSink }, this.opts.project)).map((r) => ({ ...r, ...this.cpuOf(r) }));
        } catch {
          rows = [];
        }
      }
      let sets: core.SetInfo[] = this.state.sets;
      try {
        sets = core.listSets(this.opts.storeRoot);
      } catch {
        /* no store yet */
      }
      if (this.stopped) return;
      this.set({ stackUp: Boolean(stack), fromSet: stack?.fromSet, rows, sets });
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private cpuOf(r: core.PsRow): { cpuPercent?: number } {
    if (r.cpuTicks === undefined || r.state !== 'running') {
      this.cpu.delete(r.service);
      return {};
    }
    const now = Date.now();
    const prev = this.cpu.get(r.service);
    this.cpu.set(r.service, { ticks: r.cpuTicks, at: now, ...(r.pid !== undefined ? { pid: r.pid } : {}) });
    if (!prev || prev.pid !== r.pid || now <= prev.at) return {};
    return { cpuPercent: Math.max(0, (((r.cpuTicks - prev.ticks) / CLOCK_TICKS) * 1000 * 100) / (now - prev.at)) };
  }

  // ---- actions -----------------------------------------------------------------------------

  private busyTitle = '';

  /** One action at a time; its failure becomes the status line, never an exception. */
  private run(title: string, fn: () => Promise<string | void>, holdPs = false): Promise<boolean> {
    if (this.state.busy) {
      this.set({ status: { level: 'warn', text: `busy: ${this.state.busy}` } });
      return Promise.resolve(false);
    }
    this.busyTitle = title;
    this.holdPs = holdPs;
    const done = this.runAction(title, fn);
    this.current = done;
    return done;
  }

  /** The action running now, if any. */
  private current: Promise<boolean> | undefined;

  private async runAction(title: string, fn: () => Promise<string | void>): Promise<boolean> {
    this.board.clear();
    this.set({ busy: title, progress: [], progressTitle: title, status: undefined });
    let status: StatusLine;
    let ok = false;
    try {
      status = { level: 'info', text: (await fn()) || `${title}: done` };
      ok = true;
    } catch (e) {
      const err = core.asCkptError(e);
      status = { level: 'error', text: `${title}: ${err.message}${err.hint ? ` — ${err.hint}` : ''}` };
    }
    // The outcome is shown with the services as they are after it, never beside stale rows.
    this.holdPs = false;
    await this.refresh();
    this.set({ busy: undefined, status });
    return ok;
  }

  /** A name no set has yet: <project>-1, <project>-2, ... */
  defaultSetName(): string {
    const taken = new Set(this.state.sets.map((s) => s.name));
    for (let i = 1; ; i++) if (!taken.has(`${this.opts.project}-${i}`)) return `${this.opts.project}-${i}`;
  }

  checkpoint(name: string): Promise<boolean> {
    return this.run(`checkpoint ${name}`, async () => {
      const r = await core.checkpoint(this.ctx, this.opts.project, name, { storeRoot: this.opts.storeRoot });
      return `checkpoint ${name}: ${core.formatBytes(r.set.sizeBytes)}, stack frozen ${core.formatDuration(r.frozenMs)}`;
    }, true);
  }

  /** Brings this stack back from the set, replacing what runs now. */
  restore(set: string): Promise<boolean> {
    return this.run(`restore ${set}`, async () => {
      const r = await core.restore(this.ctx, set, { storeRoot: this.opts.storeRoot, as: this.opts.project, replace: true });
      return `restored ${r.project} from ${set} in ${core.formatDuration(r.totalMs)}`;
    }, true);
  }

  clone(set: string, as: string): Promise<boolean> {
    return this.run(`clone ${set} as ${as}`, async () => {
      const r = await core.restore(this.ctx, set, { storeRoot: this.opts.storeRoot, as });
      return `cloned ${set} as ${r.project} (ckpt down -p ${r.project} stops it)`;
    }, true);
  }

  remove(set: string): Promise<boolean> {
    return this.run(`remove ${set}`, async () => {
      const r = await core.removeSet(this.opts.storeRoot, set);
      return `removed ${set} (${core.formatBytes(r.freedBytes)} freed)`;
    });
  }

  inspect(set: string): Promise<boolean> {
    return this.run(`inspect ${set}`, async () => {
      const r = await core.inspectSet(this.opts.storeRoot, set);
      const s = r.set;
      const lines = [
        `${s.name}  project ${s.project}, taken ${s.createdAt}, ${core.formatBytes(s.sizeBytes)} (${core.formatBytes(s.exclusiveBytes)} its own), ${s.files} files`,
        `parent: ${s.parent ?? '-'}`,
      ];
      for (const svc of r.services) lines.push('', `service ${svc.service}`, ...core.renderInspectTree(svc.report).split('\n'));
      this.set({ inspect: { set, lines } });
      return `inspect ${set}`;
    });
  }

  say(level: StatusLine['level'], text: string): void {
    this.set({ status: { level, text } });
  }

  closeInspect(): void {
    this.set({ inspect: undefined });
  }

  /** Stops the service if it runs, starts it otherwise. */
  toggleService(service: string): Promise<boolean> {
    const row = this.state.rows.find((r) => r.service === service);
    if (row?.state === 'running') {
      return this.run(`stop ${service}`, async () => void (await core.stopService(this.ctx, this.opts.project, service)));
    }
    return this.run(`start ${service}`, async () => void (await core.startService(this.ctx, this.opts.project, service)));
  }
}
