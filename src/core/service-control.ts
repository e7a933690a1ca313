// Stopping and starting one service of a running stack (the UI's stop/start keys). The stack
// keeps the stopped service's record, so `ps` shows it as exited until it is started again.
import { CkptError } from '../errors.js';
import { runtimeFor } from '../runtime/index.js';
import { StackStateStore, type StackState } from '../state/stack-state.js';
import { ev } from './events.js';
import type { CoreContext } from './stack.js';

function serviceOf(state: StackState | undefined, projectName: string, service: string): StackState {
  if (!state) {
    throw new CkptError('STACK_NOT_RUNNING', `no stack named ${projectName} is running`, { hint: 'List running stacks with: ckpt ls' });
  }
  if (!state.services[service] || !state.spec.services.some((s) => s.name === service)) {
    throw new CkptError('SERVICE_UNKNOWN', `no service ${service} in stack ${projectName}`, {
      hint: `Services: ${Object.keys(state.services).sort().join(', ')}`,
    });
  }
  return state;
}

/** SIGTERM, the service's grace period, then SIGKILL; the other services keep running. */
export async function stopService(ctx: CoreContext, projectName: string, service: string): Promise<void> {
  const states = new StackStateStore(ctx.stateRoot);
  const lock = await states.lock(projectName);
  try {
    const state = serviceOf(states.read(projectName), projectName, service);
    const rec = state.services[service]!;
    const grace = state.spec.services.find((s) => s.name === service)!.xCkpt.stopGracePeriodMs;
    ctx.events(ev({ type: 'service', project: projectName, service, action: 'stopping' }));
    await runtimeFor(rec.runtime).stop(rec, grace);
    ctx.events(ev({ type: 'service', project: projectName, service, action: 'stopped' }));
  } finally {
    lock.release();
  }
}

/** Starts a service that is not running, afresh from its command (not from a set). */
export async function startService(ctx: CoreContext, projectName: string, service: string): Promise<void> {
  const states = new StackStateStore(ctx.stateRoot);
  const lock = await states.lock(projectName);
  try {
    const state = serviceOf(states.read(projectName), projectName, service);
    const rec = state.services[service]!;
    if (runtimeFor(rec.runtime).status(rec).state === 'running') return;
    const spec = state.spec.services.find((s) => s.name === service)!;
    ctx.events(ev({ type: 'service', project: projectName, service, action: 'starting' }));
    const started = await runtimeFor(spec.xCkpt.runtime).start(state.spec, spec, {
      serviceDir: states.serviceDir(projectName, service),
      stateRoot: ctx.stateRoot,
      ...(state.network ? { stackNetwork: state.network } : {}),
    });
    state.services[service] = started;
    states.write(state);
    ctx.events(ev({ type: 'service', project: projectName, service, action: 'started', detail: `pid ${started.initPid}` }));
  } finally {
    lock.release();
  }
}
