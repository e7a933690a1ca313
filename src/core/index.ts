// The core API: the one module the CLI, the TUI and the tests call.
export { up, down, ps, planUp, formatPlan, listStacks, readStack, stopOrder } from './stack.js';
export type { CoreContext, UpStep, PsRow, UpOptions, DownOptions } from './stack.js';
export { logs } from './logs.js';
export type { LogsOptions } from './logs.js';
export { doctor } from './doctor.js';
export type { DoctorCheck, DoctorReport } from './doctor.js';
export { ev, nullSink } from './events.js';
export type { CoreEvent, EventSink, ServiceAction } from './events.js';
export { loadProject, loadProjectWithWarnings, findManifest, renderProject, projectToJSON } from './manifest.js';
export type { Project, Service } from '../manifest/types.js';
export { stateRoot, storeRoot } from '../paths.js';
export { CkptError, EXIT, isCkptError, asCkptError } from '../errors.js';
export { checkpoint } from './checkpoint.js';
export type { CheckpointOptions, CheckpointResult, ServiceCheckpointStats } from './checkpoint.js';
export { restore } from './restore.js';
export type { RestoreOptions, RestoreResult, ServiceRestoreStats } from './restore.js';
export { listSets, getSet, removeSet, gc, verifySet, inspectSet } from './sets.js';
export type { SetInspection } from './sets.js';
export { programProject } from './run-program.js';
export { stopService, startService } from './service-control.js';
// What the UI needs to show sets and figures the way the CLI does.
export { renderInspectTree } from '../criu/images/index.js';
export { formatBytes, formatDuration } from '../util/time.js';
export type { SetInfo } from '../store/index.js';
export { isSetName } from '../store/index.js';
export { isValidProjectName } from '../manifest/project-name.js';
