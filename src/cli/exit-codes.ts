import { ASSERTION_EXIT_CODE } from '../daemon/fail-stop.ts';

/** Exit codes of every corolink command: one meaning each, documented in docs/cli.md. */
export const ExitCode = {
  /** Success (for `status`: the cluster is quorate). */
  ok: 0,
  /** The input was read but is invalid (e.g. `config check` found errors). */
  invalid: 1,
  /** `links`: a link to a peer is down (corosync-cfgtool -s exits 1 on a faulty link). */
  faultyLink: 1,
  /** `status`/`quorum`: the node is not quorate. `lab`: not root. */
  notQuorate: 2,
  /** `daemon`: stopped on a failed assertion (src/daemon/fail-stop.ts). */
  assertionFailed: ASSERTION_EXIT_CODE,
  /** Bad command-line arguments (sysexits EX_USAGE). */
  usage: 64,
  /** A file could not be read or written (sysexits EX_IOERR / EX_CANTCREAT). */
  io: 74,
  /** The daemon could not be reached (sysexits EX_UNAVAILABLE). */
  unavailable: 69,
  /** An unexpected internal error (sysexits EX_SOFTWARE). */
  internal: 70,
} as const;

/** An error meant for the user: printed as one line, never with a stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.usage,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
