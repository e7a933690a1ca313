// Healthchecks, daemonless: while `ckpt up` runs it probes on the service's interval; `ckpt ps`
// probes once on demand. Semantics follow compose: failures inside start_period do not count,
// `retries` consecutive failures make a service unhealthy.
import type { Healthcheck } from '../manifest/types.js';
import type { ServiceRecord, ServiceRuntime } from '../runtime/types.js';
import { sleep } from '../util/time.js';

export interface ProbeResult {
  ok: boolean;
  output: string;
}

export async function probe(runtime: ServiceRuntime, record: ServiceRecord, hc: Healthcheck): Promise<ProbeResult> {
  const r = await runtime.exec(record, hc.test, hc.timeoutMs);
  const output = (r.stdout + r.stderr).trim().slice(-400);
  if (r.timedOut) return { ok: false, output: `timed out after ${hc.timeoutMs}ms` };
  return { ok: r.exitCode === 0, output };
}

export type HealthOutcome = { healthy: true } | { healthy: false; reason: string };

/**
 * Waits until the service is healthy. While starting, probes more often than `interval` (like
 * compose's start_interval) so `up` is not slowed by a long interval.
 */
export async function waitHealthy(
  runtime: ServiceRuntime,
  record: ServiceRecord,
  hc: Healthcheck,
  opts: { signal?: AbortSignal; isRunning: () => boolean },
): Promise<HealthOutcome> {
  const started = Date.now();
  const step = Math.min(hc.intervalMs, 500);
  let failures = 0;
  let last = '';
  for (;;) {
    if (opts.signal?.aborted) return { healthy: false, reason: 'interrupted' };
    if (!opts.isRunning()) return { healthy: false, reason: 'exited before it became healthy' };
    const r = await probe(runtime, record, hc);
    if (r.ok) return { healthy: true };
    last = r.output;
    if (Date.now() - started >= hc.startPeriodMs) {
      failures++;
      if (failures >= hc.retries && Date.now() - started >= hc.startPeriodMs + hc.intervalMs * hc.retries) {
        return { healthy: false, reason: `healthcheck failed ${failures} times${last ? `: ${last}` : ''}` };
      }
    }
    await sleep(step);
  }
}
