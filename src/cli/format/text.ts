/** Small text-layout helpers shared by the formatters (the shapes corosync-quorumtool and pvecm print). */

/** Width of a label column: pvecm's `printf "%-17s %s"`, so values start at column 19. */
export const LABEL_WIDTH = 17;

/** `label` left-justified to 17 characters, one space, the value. */
export function field(label: string, value: string | number): string {
  return `${label.padEnd(LABEL_WIDTH)} ${value}`;
}

/** A section title underlined with dashes of the same length. */
export function heading(title: string): string[] {
  return [title, '-'.repeat(title.length)];
}

/** A node id as corosync prints it with `-H`: `0x%08x`. */
export function hexNodeId(nodeid: number): string {
  return `0x${nodeid.toString(16).padStart(8, '0')}`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** C's `ctime()` in local time without the newline: `Tue Nov  4 21:49:34 2026`. */
export function ctime(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${WEEKDAYS[date.getDay()]} ${MONTHS[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ` +
    `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`
  );
}

/** How a table column is aligned. */
export type Align = 'left' | 'right';

/** A plain-text table: columns as wide as their widest cell, two spaces apart, trailing blanks trimmed. */
export function table(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[],
): string[] {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        align[column] === 'right' ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}
