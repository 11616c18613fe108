/**
 * A plain fixed-width table for terminal output. Cells can hold text from outside (a dead
 * letter's reason quotes the bytes someone wrote to a topic): control characters are shown
 * escaped, never sent to the operator's terminal, where an escape sequence would act.
 */
export function printTable(header: string[], rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  const shown = rows.map((row) => row.map(printable));
  const widths = header.map((h, i) => Math.max(h.length, ...shown.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  out.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of shown) out.write(`${line(row)}\n`);
}

/** C0 and C1 control characters (ESC, CSI, newline...) as `\uXXXX`. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
