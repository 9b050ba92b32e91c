/**
 * What the daemon and its watchdog supervisor say over the supervisor's Unix socket: one JSON object per line.
 * The daemon: `feed` (this node may run services for `fenceTimeoutMs` more), `active` (the resources to stop when
 * fencing, with the process groups of exec resources), `disarm` (it stopped its services itself: nothing to
 * guard), `exit` (disarm, and the supervisor leaves). The supervisor: `hello` (its pid), `fired` (it fenced).
 */
import { createConnection, type Socket } from 'node:net';
import type { HaResourceSpec } from '../../ha/contract.ts';
import { HA_OP_TIMEOUT_MS_MAX, specProblem } from './resource-spec.ts';

/** Largest line either side reads (a few hundred resources with their groups). */
export const WATCHDOG_LINE_BYTES_MAX = 1024 * 1024;

export interface ActiveResource {
  spec: HaResourceSpec;
  /** Process groups of an exec resource's starts (empty for the other types). */
  pgids: number[];
}

export type ToSupervisor =
  | { type: 'feed'; fenceTimeoutMs: number }
  | { type: 'active'; resources: ActiveResource[] }
  | { type: 'disarm' }
  | { type: 'exit' };

export type FromSupervisor = { type: 'hello'; pid: number } | { type: 'fired'; services: number; reason: string };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A daemon's line as a message, or a one-line reason why it is not one. */
export function parseToSupervisor(line: string): ToSupervisor | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { problem: 'a line that is not JSON' };
  }
  if (!isObject(value)) return { problem: 'a line that is not an object' };
  switch (value.type) {
    case 'feed': {
      const ms = value.fenceTimeoutMs;
      if (!Number.isInteger(ms) || (ms as number) < 1 || (ms as number) > HA_OP_TIMEOUT_MS_MAX)
        return { problem: `feed: fenceTimeoutMs must be 1–${HA_OP_TIMEOUT_MS_MAX}` };
      return { type: 'feed', fenceTimeoutMs: ms as number };
    }
    case 'active': {
      if (!Array.isArray(value.resources)) return { problem: 'active: resources must be a list' };
      const resources: ActiveResource[] = [];
      for (const [i, entry] of value.resources.entries()) {
        if (!isObject(entry) || !isObject(entry.spec) || !Array.isArray(entry.pgids))
          return { problem: `active: resource ${i} must be {spec, pgids}` };
        const spec = entry.spec as HaResourceSpec;
        const problem = specProblem(spec);
        if (problem) return { problem: `active: ${problem}` };
        // Group 1 is init's: a process group id of a resource is above it.
        if (!entry.pgids.every((g) => Number.isInteger(g) && g > 1))
          return { problem: `active: resource ${i}: pgids must be process group ids above 1` };
        resources.push({ spec, pgids: entry.pgids as number[] });
      }
      return { type: 'active', resources };
    }
    case 'disarm':
    case 'exit':
      return { type: value.type };
    default:
      return { problem: `unknown message type ${JSON.stringify(value.type)}` };
  }
}

/** A supervisor's line as a message (undefined when it is not one: the daemon ignores it). */
export function parseFromSupervisor(line: string): FromSupervisor | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (isObject(value) && value.type === 'hello' && Number.isInteger(value.pid)) return value as FromSupervisor;
    if (isObject(value) && value.type === 'fired' && Number.isInteger(value.services)) return value as FromSupervisor;
  } catch {
    // Not JSON: ignored.
  }
  return undefined;
}

/** One message as its line. */
export function encodeLine(message: ToSupervisor | FromSupervisor): string {
  return `${JSON.stringify(message)}\n`;
}

/** A connection to the socket, or undefined when nothing listens there. */
export function tryConnect(path: string): Promise<Socket | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => resolve(undefined));
  });
}
