// The ckpt terminal UI: services on top, sets (as a lineage tree) and the selected service's log
// below, progress bars while a checkpoint or restore runs, a status line and the keys.
import React, { useEffect, useReducer, useRef, useSyncExternalStore } from 'react';
import { Box, Text, useApp, useInput, type Key } from 'ink';
import { isSetName, isValidProjectName } from '../../core/index.js';
import type { StackController, UiSnapshot } from '../stack-controller.js';
import { LogPane, maxLogScroll } from './log-pane.js';
import { HelpOverlay, InspectOverlay, Prompt, Question } from './overlays.js';
import { splitKeys } from './keys.js';
import { ProgressPane, progressPaneHeight } from './progress-pane.js';
import { ServicesPane, servicesPaneHeight } from './services-pane.js';
import { SetsPane, orderedSets } from './sets-pane.js';
import { cell } from './text.js';
import { ThemeContext, tint, useTheme, type Theme } from './theme.js';
import { useTerminalSize } from './use-terminal-size.js';

type Modal =
  | { kind: 'help' }
  | { kind: 'prompt'; action: 'checkpoint' | 'clone'; set?: string; value: string; pristine: boolean }
  | { kind: 'confirm'; action: 'restore' | 'remove'; set: string }
  | { kind: 'quit' };

export interface AppProps {
  controller: StackController;
  theme?: Theme;
  /** fixed size (tests); otherwise the terminal's */
  width?: number;
  height?: number;
}

export const KEY_BAR = 'c:checkpoint r:restore n:clone x:remove i:inspect s:stop/start ?:help q:quit';


export function App({ controller, theme = { color: true }, width, height }: AppProps): React.JSX.Element {
  return (
    <ThemeContext.Provider value={theme}>
      <Screen controller={controller} {...(width ? { width } : {})} {...(height ? { height } : {})} />
    </ThemeContext.Provider>
  );
}

/** The UI's own state (selection, focus, dialogs). */
interface Local {
  focus: 'services' | 'sets';
  svcSel: number;
  setSel: number;
  logScroll: number;
  modal?: Modal;
  inspectScroll: number;
  keepProgress: boolean;
  promptError?: string;
}

/** What a frame and a key both work from: the latest snapshot and local state, laid out. */
function derive(snap: UiSnapshot, L: Local, W: number, H: number) {
  const sets = orderedSets(snap.sets);
  const svcIndex = Math.min(L.svcSel, Math.max(0, snap.rows.length - 1));
  const setIndex = Math.min(L.setSel, Math.max(0, sets.length - 1));
  const service = snap.rows[svcIndex]?.service;
  const svcH = servicesPaneHeight(snap.rows.length);
  const showProgress = snap.progress.length > 0 && (Boolean(snap.busy) || L.keepProgress);
  const progH = showProgress ? progressPaneHeight(snap.progress.length) : 0;
  const midH = Math.max(3, H - 1 - svcH - progH - statusHeight(snap, W) - 1);
  return {
    sets,
    svcIndex,
    setIndex,
    service,
    selectedSet: sets[setIndex]?.name,
    logLines: (service && snap.logs[service]) || [],
    showProgress,
    midH,
  };
}

function Screen({ controller, width, height }: { controller: StackController; width?: number; height?: number }): React.JSX.Element {
  const snap = useSyncExternalStore(controller.subscribe, controller.snapshot);
  const term = useTerminalSize();
  const W = Math.max(40, width ?? term.columns);
  // one row short of the terminal: a frame that fills it makes Ink redraw the whole screen each time
  const H = Math.max(12, (height ?? term.rows) - 1);
  const { exit } = useApp();
  const theme = useTheme();

  // Keys can arrive faster than frames are drawn (a fast typist, a paste, tmux send-keys), and
  // Ink attaches the key handler anew after each frame. So the handler reads and writes this
  // ref, not state captured by a frame: every key meets the effect of the key before it.
  const local = useRef<Local>({ focus: 'services', svcSel: 0, setSel: 0, logScroll: 0, inspectScroll: 0, keepProgress: false });
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const update = (patch: Partial<Local>): void => {
    local.current = { ...local.current, ...patch };
    redraw();
  };

  useEffect(() => {
    if (snap.quitting) exit();
  }, [snap.quitting, exit]);
  useEffect(() => {
    if (snap.busy && snap.progress.length && !local.current.keepProgress) update({ keepProgress: true });
  }, [snap.busy, snap.progress.length]);

  const onPrompt = (m: Extract<Modal, { kind: 'prompt' }>, input: string, key: Key): void => {
    if (key.escape) return update({ modal: undefined });
    if (key.return) {
      const name = m.value.trim();
      if (m.action === 'checkpoint' && !isSetName(name)) {
        return update({ promptError: 'a set name starts with a letter or digit; then letters, digits, "_", "." or "-"' });
      }
      if (m.action === 'clone' && !isValidProjectName(name)) {
        return update({ promptError: 'a stack name is lowercase letters, digits, "_" and "-", starting with a letter or digit' });
      }
      update({ modal: undefined });
      if (m.action === 'checkpoint') void controller.checkpoint(name);
      else void controller.clone(m.set!, name);
      return;
    }
    if (key.backspace || key.delete) return update({ modal: { ...m, value: m.pristine ? '' : m.value.slice(0, -1), pristine: false } });
    if (key.ctrl && input === 'u') return update({ modal: { ...m, value: '', pristine: false } });
    const text = input.replace(/[^\x20-\x7e]/g, '');
    if (text && !key.ctrl && !key.meta) update({ modal: { ...m, value: (m.pristine ? '' : m.value) + text, pristine: false } });
  };

  const onKey = (input: string, key: Key): void => {
    const snap = controller.snapshot();
    const L = local.current;
    const d = derive(snap, L, W, H);
    const ask = (modal: Modal): void => update({ modal, promptError: undefined });
    if (snap.quitting) return;
    if (snap.inspect) {
      const page = Math.max(1, H - 4);
      const last = Math.max(0, snap.inspect.lines.length - 1);
      if (key.escape || input === 'q' || input === 'i') {
        controller.closeInspect();
        update({ inspectScroll: 0 });
      } else if (key.downArrow || input === 'j') update({ inspectScroll: Math.min(L.inspectScroll + 1, last) });
      else if (key.upArrow || input === 'k') update({ inspectScroll: Math.max(0, L.inspectScroll - 1) });
      else if (key.pageDown || input === ' ') update({ inspectScroll: Math.min(L.inspectScroll + page, last) });
      else if (key.pageUp) update({ inspectScroll: Math.max(0, L.inspectScroll - page) });
      return;
    }
    const modal = L.modal;
    if (modal?.kind === 'help') return update({ modal: undefined });
    if (modal?.kind === 'prompt') return onPrompt(modal, input, key);
    if (modal?.kind === 'confirm') {
      if (input === 'y' || input === 'Y') {
        update({ modal: undefined });
        if (modal.action === 'restore') void controller.restore(modal.set);
        else void controller.remove(modal.set);
      } else if (input === 'n' || input === 'N' || key.escape) update({ modal: undefined });
      return;
    }
    if (modal?.kind === 'quit') {
      if (input === 'y' || input === 'Y') void controller.quit('leave');
      else if (input === 'n' || input === 'N' || (key.ctrl && input === 'c')) void controller.quit('stop');
      else if (key.escape) update({ modal: undefined });
      return;
    }

    if (!snap.busy && L.keepProgress) update({ keepProgress: false });
    if (input === 'q' || (key.ctrl && input === 'c')) {
      if (!controller.canQuitNow()) return controller.say('warn', `wait for ${snap.busy} to finish, then quit`);
      return ask({ kind: 'quit' });
    }
    if (input === '?') return ask({ kind: 'help' });
    if (key.tab || key.leftArrow || key.rightArrow) return update({ focus: L.focus === 'services' ? 'sets' : 'services' });
    const down = key.downArrow || input === 'j';
    if (down || key.upArrow || input === 'k') {
      const step = down ? 1 : -1;
      if (L.focus === 'services') update({ svcSel: Math.max(0, Math.min(snap.rows.length - 1, d.svcIndex + step)), logScroll: 0 });
      else update({ setSel: Math.max(0, Math.min(d.sets.length - 1, d.setIndex + step)) });
      return;
    }
    const page = Math.max(1, d.midH - 3);
    if (key.pageUp) return update({ logScroll: Math.min(maxLogScroll(d.logLines.length, d.midH), L.logScroll + page) });
    if (key.pageDown) return update({ logScroll: Math.max(0, L.logScroll - page) });
    if (input === 'f') return update({ logScroll: 0 });
    if (input === 'c') return ask({ kind: 'prompt', action: 'checkpoint', value: controller.defaultSetName(), pristine: true });
    if (input === 's' && d.service) return void controller.toggleService(d.service);
    if (!d.selectedSet) {
      if ((input && 'rnxi'.includes(input)) || key.delete || key.return) controller.say('warn', 'no set selected: take one with c');
      return;
    }
    if (input === 'r') return ask({ kind: 'confirm', action: 'restore', set: d.selectedSet });
    if (input === 'n') return ask({ kind: 'prompt', action: 'clone', set: d.selectedSet, value: `${snap.project}-copy`, pristine: true });
    if (input === 'x' || key.delete) return ask({ kind: 'confirm', action: 'remove', set: d.selectedSet });
    if (input === 'i' || (key.return && L.focus === 'sets')) {
      update({ inspectScroll: 0 });
      return void controller.inspect(d.selectedSet);
    }
  };
  const handler = useRef(onKey);
  handler.current = onKey;
  // every key of a chunk meets the state the key before it left (see keys.ts)
  useInput((input, key) => {
    for (const [i, k] of splitKeys(input, key)) handler.current(i, k);
  });

  const L = local.current;
  const { modal, focus, logScroll, inspectScroll, promptError } = L;
  const { setIndex, svcIndex, service, logLines, showProgress, midH } = derive(snap, L, W, H);
  const setsW = Math.min(44, Math.max(30, Math.floor(W * 0.4)));
  const logW = W - setsW;

  // ---- drawing ----
  const running = snap.rows.filter((r) => r.state === 'running').length;
  const header = ` ckpt · ${snap.project} · ${snap.stackUp ? `${running}/${snap.rows.length} running` : 'not running'} · ${snap.sets.length} set${snap.sets.length === 1 ? '' : 's'}`;
  const right = '? help ';
  const headerColor = tint(theme, 'cyan');

  let middle: React.JSX.Element;
  if (modal?.kind === 'prompt') {
    middle = (
      <Prompt
        title={modal.action === 'checkpoint' ? `Checkpoint ${snap.project}` : `Clone ${modal.set}`}
        label={modal.action === 'checkpoint' ? 'Name of the new set:' : 'Name of the new stack:'}
        value={modal.value}
        pristine={modal.pristine}
        {...(promptError ? { error: promptError } : {})}
        width={W}
        height={midH}
      />
    );
  } else if (modal?.kind === 'confirm') {
    middle =
      modal.action === 'restore' ? (
        <Question
          title={`Restore ${modal.set}`}
          lines={restoreQuestion(snap, modal.set)}
          choices="y: restore   n/esc: cancel"
          width={W}
          height={midH}
        />
      ) : (
        <Question
          title={`Remove ${modal.set}`}
          lines={[`Remove set ${modal.set} from the store?`, 'This cannot be undone.']}
          choices="y: remove   n/esc: cancel"
          width={W}
          height={midH}
        />
      );
  } else if (modal?.kind === 'quit') {
    middle = (
      <Question
        title="Quit"
        lines={[`Leave stack ${snap.project} running?`, `(later: ckpt ui -p ${snap.project} attaches again; ckpt down -p ${snap.project} stops it)`]}
        choices="y: quit, leave it running   n: stop it and quit   esc: stay"
        width={W}
        height={midH}
      />
    );
  } else {
    middle = (
      <Box flexDirection="row" height={midH}>
        <SetsPane sets={snap.sets} selected={setIndex} focused={focus === 'sets'} width={setsW} height={midH} now={Date.now()} project={snap.project} {...(snap.fromSet ? { fromSet: snap.fromSet } : {})} />
        <LogPane {...(service ? { service } : {})} lines={logLines} scroll={logScroll} width={logW} height={midH} />
      </Box>
    );
  }

  if (modal?.kind === 'help') {
    // the help takes the whole screen between the header and the status line: 80x24 shows every key
    return (
      <Box flexDirection="column" width={W} height={H}>
        <Text wrap="truncate">{cell(header, W)}</Text>
        <HelpOverlay width={W} height={H - 2 - statusHeight(snap, W)} />
        <StatusBar snap={snap} width={W} />
      </Box>
    );
  }

  if (snap.inspect) {
    return (
      <Box flexDirection="column" width={W} height={H}>
        <Text wrap="truncate">{cell(header, W)}</Text>
        <InspectOverlay set={snap.inspect.set} lines={snap.inspect.lines} scroll={inspectScroll} width={W} height={H - 1} />
      </Box>
    );
  }

  return (
    <Box flexDirection="column" width={W} height={H}>
      <Text wrap="truncate" bold {...(headerColor ? { color: headerColor } : {})}>
        {cell(header, W - right.length)}
        {right}
      </Text>
      <ServicesPane
        project={snap.project}
        rows={snap.rows}
        selected={svcIndex}
        focused={focus === 'services'}
        width={W}
        stackUp={snap.stackUp}
        {...(snap.fromSet ? { fromSet: snap.fromSet } : {})}
      />
      {showProgress ? <ProgressPane title={snap.busy ?? `${snap.progressTitle ?? ''}: done`} rows={snap.progress} width={W} /> : null}
      {middle}
      <StatusBar snap={snap} width={W} />
      <Text dimColor wrap="truncate">
        {cell(KEY_BAR, W)}
      </Text>
    </Box>
  );
}

function restoreQuestion(snap: UiSnapshot, set: string): string[] {
  const from = snap.sets.find((s) => s.name === set)?.project;
  return [
    `Restore set ${set} over stack ${snap.project}?`,
    'Its running services are stopped and replaced by the set\'s.',
    ...(from && from !== snap.project ? [`Careful: the set was taken from another stack, ${from} (n clones it beside this one instead).`] : []),
  ];
}

function statusText(snap: UiSnapshot): string {
  const s = snap.status;
  return s ? `${s.level === 'error' ? 'error: ' : ''}${s.text}` : '';
}

/** An error may take two lines: its hint says what to do. */
function statusHeight(snap: UiSnapshot, width: number): number {
  return !snap.busy && statusText(snap).length > width ? 2 : 1;
}

function StatusBar({ snap, width }: { snap: UiSnapshot; width: number }): React.JSX.Element {
  const theme = useTheme();
  if (snap.busy) {
    const c = tint(theme, 'cyan');
    return (
      <Text wrap="truncate" {...(c ? { color: c } : {})}>
        {cell(`… ${snap.busy}`, width)}
      </Text>
    );
  }
  const s = snap.status;
  const c = s ? tint(theme, s.level === 'error' ? 'red' : s.level === 'warn' ? 'yellow' : 'green') : undefined;
  const text = statusText(snap);
  const lines = statusHeight(snap, width) === 2 ? [text.slice(0, width), text.slice(width)] : [text];
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((l, i) => (
        <Text key={i} wrap="truncate" {...(c ? { color: c } : {})}>
          {cell(l, width)}
        </Text>
      ))}
    </Box>
  );
}
