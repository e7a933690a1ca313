// The core API: the one module the CLI, the TUI and the tests call.
//
// Commands that only one CLI command runs are loaded when called: every ckpt run pays for each
// module it imports (about 1 ms each here), and `ckpt checkpoint` is timed against Docker's.
import type * as Checkpoint from './checkpoint.js';
import type * as Restore from './restore.js';
import type * as Logs from './logs.js';
import type * as Doctor from './doctor.js';
import type * as Build from './build.js';

export const build: typeof Build.build = async (...a) => (await import('./build.js')).build(...a);
export type { BuildOptions, ServiceBuild } from './build.js';
export { up, down, ps, planUp, formatPlan, listStacks, readStack, stopOrder } from './stack.js';
export type { CoreContext, UpStep, PsRow, UpOptions, DownOptions } from './stack.js';
export const logs: typeof Logs.logs = async (...a) => (await import('./logs.js')).logs(...a);
export type { LogsOptions } from './logs.js';
export const doctor: typeof Doctor.doctor = async (...a) => (await import('./doctor.js')).doctor(...a);
export type { DoctorCheck, DoctorReport } from './doctor.js';
export { ev, nullSink } from './events.js';
export type { CoreEvent, EventSink, ServiceAction } from './events.js';
export { loadProject, loadProjectWithWarnings, findManifest, renderProject, projectToJSON } from './manifest.js';
export type { Project, Service } from '../manifest/types.js';
export { stateRoot, storeRoot } from '../paths.js';
export { CkptError, EXIT, isCkptError, asCkptError } from '../errors.js';
export const checkpoint: typeof Checkpoint.checkpoint = async (...a) => (await import('./checkpoint.js')).checkpoint(...a);
export type { CheckpointOptions, CheckpointResult, ServiceCheckpointStats } from './checkpoint.js';
export const restore: typeof Restore.restore = async (...a) => (await import('./restore.js')).restore(...a);
export type { RestoreOptions, RestoreResult, ServiceRestoreStats } from './restore.js';
export { listSets, getSet, removeSet, gc, verifySet, inspectSet } from './sets.js';
export type { SetInspection } from './sets.js';
export { programProject } from './run-program.js';
export { stopService, startService } from './service-control.js';
// What the UI needs to show sets and figures the way the CLI does.
export { renderInspectTree } from '../criu/images/render.js';
export { formatBytes, formatDuration } from '../util/time.js';
export type { SetInfo } from '../store/index.js';
export { isSetName } from '../store/index.js';
export { isValidProjectName } from '../manifest/project-name.js';
