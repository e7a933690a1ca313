// Fitting text into fixed columns: the panes are laid out by hand so that 80×24 stays readable.

/** Cut to `width` columns, with an ellipsis when something was cut. */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length <= width) return s;
  return width === 1 ? '…' : s.slice(0, width - 1) + '…';
}

/** Exactly `width` columns: cut or padded. */
export function cell(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const f = fit(s, width);
  return align === 'left' ? f.padEnd(width) : f.padStart(width);
}

/** "12s", "3m", "5h", "2d" */
export function shortAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
