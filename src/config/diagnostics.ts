/**
 * Diagnostics: every error and warning the config engine reports, with the file position it is about.
 * Printed as `file:line:col: severity: message`, the shape compilers use, so editors can jump to it.
 */

/** How bad a finding is: an error makes the file unusable, a warning is a likely mistake corosync would accept. */
export type Severity = 'error' | 'warning';

/** One finding about a config file, positioned at a 1-based line and column. */
export interface Diagnostic {
  severity: Severity;
  message: string;
  file: string;
  line: number;
  column: number;
  /** A stable machine-readable class, e.g. `syntax`, `duplicate-nodeid`, `legacy`. */
  code: string;
}

/** A place in a config file (1-based line and column). */
export interface SourcePosition {
  line: number;
  column: number;
}

/** Builds a diagnostic. */
export function diagnostic(
  severity: Severity,
  code: string,
  file: string,
  position: SourcePosition,
  message: string,
): Diagnostic {
  return { severity, code, file, line: position.line, column: position.column, message };
}

/** `file:line:col: severity: message`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
}

/** Orders diagnostics by position, errors before warnings at the same place. */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) =>
      a.line - b.line || a.column - b.column || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1),
  );
}

/** True when at least one diagnostic is an error. */
export function hasErrors(list: readonly Diagnostic[]): boolean {
  return list.some((d) => d.severity === 'error');
}
