// Starting the terminal UI from the CLI: `ckpt up` on a terminal, and `ckpt ui`. The UI draws on
// the terminal's alternate screen (as less and vim do), so quitting gives the shell back as it
// was, followed by one line saying what became of the stack.
import React from 'react';
import { render } from 'ink';
import { EXIT, type CkptError, type Project } from '../../core/index.js';
import { StackController } from '../stack-controller.js';
import { App } from './app.js';

export interface RunUiOptions {
  stateRoot: string;
  storeRoot: string;
  project: string;
  /** `ckpt up`: bring this project up first; otherwise attach to the running stack */
  up?: Project;
  /** with `up`: build every image with `build:` first (up --build) */
  build?: boolean;
  color: boolean;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
}

export async function runUi(opts: RunUiOptions): Promise<number> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const controller = new StackController({ stateRoot: opts.stateRoot, storeRoot: opts.storeRoot, project: opts.project });
  if (!opts.up) await controller.attach(); // no stack: the CLI reports the error before any screen is drawn
  // Closing the terminal or a kill ends `up` as Ctrl-C ends compose (the stack stops); an
  // attached UI only goes away.
  const onSignal = (): void => void controller.quit(opts.up ? 'stop' : 'leave');
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  stdout.write('\x1b[?1049h\x1b[H');
  const app = render(<App controller={controller} theme={{ color: opts.color }} />, { stdout, stdin, exitOnCtrlC: false, patchConsole: true });
  let upFailed: Promise<CkptError | 'interrupted' | undefined> | undefined;
  try {
    if (opts.up) upFailed = controller.up(opts.up, { build: Boolean(opts.build) });
    await app.waitUntilExit();
  } finally {
    app.cleanup();
    stdout.write('\x1b[?1049l');
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  const snap = controller.snapshot();
  if (snap.quitting === 'leave') stdout.write(`ckpt: left stack ${opts.project} running (ckpt ui -p ${opts.project}; ckpt down -p ${opts.project})\n`);
  else stdout.write(`ckpt: stopped stack ${opts.project}\n`);
  if (snap.status?.level === 'error') stdout.write(`ckpt: ${snap.status.text}\n`);
  // a stack that did not come up is the command's failure, as with plain output
  const failed = await upFailed;
  return failed === 'interrupted' ? EXIT.interrupted : failed ? failed.exitCode : EXIT.ok;
}
