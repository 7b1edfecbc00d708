/** Plain-text tables for the terminal: first column left-aligned, the others right-aligned (numbers). */
export function formatTable(headers: string[], rows: string[][], options: { leftColumns?: number } = {}): string {
  const left = options.leftColumns ?? 1;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i < left ? (c ?? '').padEnd(widths[i]!) : (c ?? '').padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
export const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
export const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
export const f3 = (n: number) => (Number.isFinite(n) ? n.toFixed(3) : '–');

/** 3 significant digits, thousands separated above 1000 (table cells). */
export function num(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  if (abs >= 100) return n.toFixed(0);
  if (abs >= 10) return n.toFixed(1);
  if (abs >= 1) return n.toFixed(2);
  if (abs === 0) return '0';
  return n.toPrecision(2);
}
