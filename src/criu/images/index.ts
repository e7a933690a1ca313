// Reading CRIU image files directly, for `ckpt inspect` and `--print-stats`: our own protobuf
// wire decoder (protobuf.ts) with schemas taken from CRIU's images/*.proto (schemas.ts), the
// image container format (container.ts), a typed model of an images directory (read.ts), the
// inspect report (inspect.ts) and its tree rendering (render.ts). Nothing here runs crit or CRIU.
// A damaged or foreign image is a CkptError STORE_CORRUPT naming the file.
export { readImageDir, vmaKind, formatAddr, unixName } from './read.js';
export type {
  CheckpointImage, Inventory, TaskIds, TaskCore, TaskState, Creds, ThreadImage, ProcessImage, MmImage, Vma, VmaKind,
  PagemapImage, PagemapRun, FdInfo, FileImage, FileKind, Remap, TtyInfo, MemfdInode,
} from './read.js';
export { inspectImages, buildReport, protString, fileTypeOf } from './inspect.js';
export type {
  InspectReport, InspectOptions, ProcessReport, MemoryReport, OpenFileReport, MappingReport, SocketReport,
  ReferencedFile, FileUse, FileType,
} from './inspect.js';
export { renderInspectTree, treeLines, type TreeNode } from './render.js';
export { readDumpStats, readRestoreStats, type DumpStats, type RestoreStats } from './stats.js';
export { parseImage, readRawImage, type RawImage } from './container.js';
export { IMG, MAGIC, PE, VMA } from './constants.js';
