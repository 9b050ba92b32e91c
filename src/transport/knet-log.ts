/**
 * Log records in knet's words (reference §2.7: `link: host: 4 link: 0 is down`, `rx: host: 4 link: 0 is up`,
 * `host: host: 4 (passive) best link: 1 (pri: 10)`, `host: host: 1 has no active links`). The knet sub-module
 * name ('link:', 'rx:', 'host:') is part of the message, as corosync prints it.
 */
import type { LogAction, LogLevel } from './types.ts';

/** A KNET log action. */
export function knetLog(level: LogLevel, message: string): LogAction {
  return { type: 'log', level, subsystem: 'KNET', message };
}

/** `link: host: N link: L is down (why)` (info; knet says no why, we add it: `send error EADDRNOTAVAIL`). */
export function linkDownLog(nodeId: number, link: number, reason: string): LogAction {
  return knetLog('info', `link: host: ${nodeId} link: ${link} is down (${reason})`);
}

/** `rx: host: N link: L is up` (info; knet 1.x reports it from the rx thread). */
export function linkUpLog(nodeId: number, link: number): LogAction {
  return knetLog('info', `rx: host: ${nodeId} link: ${link} is up`);
}

/** `host: host: N (passive) best link: L (pri: P)` (info). */
export function passiveBestLinkLog(nodeId: number, link: number, priority: number): LogAction {
  return knetLog('info', `host: host: ${nodeId} (passive) best link: ${link} (pri: ${priority})`);
}

/** `host: host: N has K active links` (info; active and rr modes). */
export function activeLinksLog(nodeId: number, count: number): LogAction {
  return knetLog('info', `host: host: ${nodeId} has ${count} active links`);
}

/** `host: host: N has no active links` (warning). */
export function noActiveLinksLog(nodeId: number): LogAction {
  return knetLog('warning', `host: host: ${nodeId} has no active links`);
}
