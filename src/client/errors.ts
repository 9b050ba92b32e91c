/**
 * Every error the client library throws or rejects with: one class per kind, each with a stable `code`,
 * so callers use `instanceof` (or `error.code`), never message matching.
 */

import type { ErrorCode } from '../ipc/methods.ts';

/** Error codes the daemon sends in `{"error": {"code": …}}` (docs/contracts.md). */
export type DaemonErrorCode = ErrorCode;

/** Base class of every corolink client error. */
export class CorolinkError extends Error {
  constructor(
    /** Stable machine-readable code, e.g. `unavailable`, `backpressure`, `not_quorate`. */
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The daemon cannot be reached: connect failed, or the connection broke while the call was pending. */
export class DaemonUnavailableError extends CorolinkError {
  constructor(
    /** The admin socket path. */
    readonly socketPath: string,
    /** Why, in a few words (e.g. `connect ENOENT`, `connection closed`). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('unavailable', `cannot reach the corolink daemon at ${socketPath}: ${reason}`, options);
  }
}

/** The daemon answered a call with an error. `code` is the daemon's code. */
export class DaemonRequestError extends CorolinkError {
  constructor(
    code: DaemonErrorCode | string,
    message: string,
    /** The method that failed. */
    readonly method: string,
  ) {
    super(code, message);
  }
}

/**
 * A send was refused because a queue is full: the daemon's CPG send queue (`group` set), or the client's own
 * buffer of bytes the socket has not accepted yet (`group` null); or a CPG join or leave the daemon refused as busy
 * for longer than the client retries it (`group` set, the last refusal as `cause`). Nothing was done; retry later.
 * Never raised silently.
 */
export class BackpressureError extends CorolinkError {
  constructor(
    message: string,
    /** The group the message was for, or null for the client's socket buffer. */
    readonly group: string | null = null,
    options?: { cause?: unknown },
  ) {
    super('backpressure', message, options);
  }
}

/** A call got no answer within `callTimeoutMs`. */
export class CallTimeoutError extends CorolinkError {
  constructor(
    readonly method: string,
    readonly timeoutMs: number,
  ) {
    super('timeout', `${method}: no answer from the daemon within ${timeoutMs} ms`);
  }
}

/** The daemon sent something that does not follow the admin socket protocol. */
export class ProtocolError extends CorolinkError {
  constructor(message: string) {
    super('protocol', message);
  }
}

/** The client (or the group) was closed by the application; no further calls are possible. */
export class ClientClosedError extends CorolinkError {
  constructor(what = 'client') {
    super('closed', `the corolink ${what} is closed`);
  }
}

/** An argument was rejected before anything was sent (e.g. link 9, votes 0, an empty group name). */
export class InvalidArgumentError extends CorolinkError {
  constructor(message: string) {
    super('invalid_argument', message);
  }
}

/** An event iterator fell too far behind (more than `maxQueuedEvents` unread); it ends with this error. */
export class EventOverflowError extends CorolinkError {
  constructor(
    readonly topic: string,
    readonly limit: number,
  ) {
    super('overflow', `more than ${limit} unread ${topic} events; the iterator was ended`);
  }
}
