// `ckpt up` in the foreground, like `docker compose up`: start, follow every service's output,
// and on Ctrl-C (or SIGTERM) stop the stack gracefully.
import * as core from '../core/index.js';
import { EXIT } from '../errors.js';

export async function runUpForeground(ctx: core.CoreContext, project: core.Project, opts: { build?: boolean } = {}): Promise<number> {
  const ac = new AbortController();
  const onSigint = (): void => {
    if (ac.signal.aborted) return;
    ctx.events(core.ev({ type: 'message', level: 'info', text: 'Gracefully stopping...' }));
    ac.abort();
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  try {
    await core.up(ctx, project, { signal: ac.signal, ...(opts.build ? { build: true } : {}) });
    if (!ac.signal.aborted) {
      ctx.events(core.ev({ type: 'message', level: 'info', text: `Attaching to ${project.services.map((s) => s.name).join(', ')}` }));
      await core.logs(ctx, project.name, { follow: true, signal: ac.signal });
    }
    if (ac.signal.aborted) {
      await core.down(ctx, project.name);
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}
