// The checkpoint store: named, complete, deduplicated checkpoint sets (see store.ts for the design).
export {
  Store,
  type CommitStep,
  type GcReport,
  type SetInfo,
  type SetMeta,
  type SetWriter,
  type StoreOptions,
  type VerifyReport,
} from './store.js';
export { MANIFEST_FILE, SET_NAME, checkSetName, isSetName, similarNames } from './names.js';
export { type DataRecord, type FileEntry, type SetManifest } from './manifest.js';
export { DATA_DIR, dataIndexName, readDataIndex, sameAsIndex, type DataIndex } from './data-index.js';
