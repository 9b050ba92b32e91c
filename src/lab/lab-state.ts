/**
 * The lab's names, addresses and on-disk state. Everything the lab creates carries the lab's unique prefix and
 * is recorded in `lab.json` *before* it is created, so `lab down` removes it even after a crash of the lab.
 * Addresses: host n gets 198.18.(10·(l+1)).n on link l — always inside 198.18.0.0/15 (RFC 2544 benchmarking).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Most hosts and links of one lab. */
export const LAB_NODES_MAX = 32;
/** Default lab directory when neither an option nor $COROLINK_LAB_DIR says otherwise. */
export const DEFAULT_LAB_DIR = '/run/corolink-lab';
const STATE_FILE = 'lab.json';

/** Knet link mode of the generated config. */
export type LinkMode = 'passive' | 'active' | 'rr';

/** The lab as recorded in `<dir>/lab.json`. */
export interface LabState {
  version: 1;
  /** Unique prefix of every namespace, bridge and veth of this lab (e.g. "cl3f9a"). */
  prefix: string;
  nodes: number;
  /** Hosts 1…members are in the generated config; the rest are spare hosts for `corolink add` (default: all). */
  members?: number;
  /** Link networks brought up. */
  links: number;
  /** Links in the generated config (the first K of `links`). */
  linksConfigured: number;
  mode: LinkMode;
  /** Created (or about to be created) resources, for `down`. */
  namespaces: string[];
  /** Bridges and the sink veth, in the root namespace. */
  bridges: string[];
  /** Daemon PIDs by nodeid (absent: not running). */
  pids: Record<string, number>;
  /** The qnetd host (`lab up --qnetd`) and its corosync-qnetd's PID (absent: not running). */
  qnetd?: { pid?: number };
  /** The service network (198.18.100.0/24 with a client host) was built (labs made before it: absent). */
  serviceNet?: boolean;
  /** Hosts whose state directory is a small tmpfs of its own (`stateDiskBytes`), by nodeid: its mount point. */
  stateDisks?: Record<string, string>;
  /** Hosts gone as a whole (`crash --host`): interfaces down until `start`. */
  crashedHosts?: number[];
}

/** The lab directory: the explicit one, else $COROLINK_LAB_DIR, else /run/corolink-lab. */
export function labDir(explicit?: string): string {
  return explicit || process.env.COROLINK_LAB_DIR || DEFAULT_LAB_DIR;
}

/** A new unique prefix ("cl" + 4 hex digits): short enough for 15-character interface names. */
export function newPrefix(): string {
  return `cl${randomBytes(2).toString('hex')}`;
}

/** Reads `<dir>/lab.json`, or undefined when there is no lab there. */
export function readState(dir: string): LabState | undefined {
  const path = join(dir, STATE_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as LabState;
}

/** Writes `<dir>/lab.json` atomically. */
export function writeState(dir: string, state: LabState): void {
  const path = join(dir, STATE_FILE);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
}

/** Names of one lab's resources, derived from its prefix. */
export const names = {
  /** Network namespace of host n. */
  namespace: (prefix: string, nodeid: number) => `${prefix}-n${nodeid}`,
  /** Bridge ("switch") of link l, in the root namespace. */
  bridge: (prefix: string, link: number) => `${prefix}br${link}`,
  /** Switch-side end of host n's cable on link l, in the root namespace. */
  switchPort: (prefix: string, nodeid: number, link: number) => `${prefix}n${nodeid}l${link}`,
  /** Host-side end of the cable, inside the host's namespace. */
  hostPort: (link: number) => `link${link}`,
  /** A veth kept down in the root namespace: packets redirected to it are dropped (minimal kernels lack gact). */
  sink: (prefix: string) => `${prefix}sink`,
  /** Bridge of the service network, in the root namespace. */
  serviceBridge: (prefix: string) => `${prefix}svc`,
  /** Switch-side end of host n's service cable (nodeid 0: the client host's). */
  serviceSwitchPort: (prefix: string, nodeid: number) => `${prefix}n${nodeid}s`,
  /** The service interface inside every host and the client. */
  servicePort: 'svc0',
  /** Network namespace of the client host. */
  clientNamespace: (prefix: string) => `${prefix}-client`,
};

/** The service network, where floating addresses and services live: 198.18.100.0/24. */
export const SERVICE_NET_PREFIX_LENGTH = 24;
/** The client host's address on the service network. */
export const CLIENT_SERVICE_ADDRESS = '198.18.100.254';

/** Host n's own address on the service network (floating addresses: 198.18.100.100 and up). */
export function serviceAddress(nodeid: number): string {
  const address = `198.18.100.${nodeid}`;
  assertLabAddress(address);
  return address;
}

/** Host n's address on link l. */
export function labAddress(nodeid: number, link: number): string {
  const address = `198.18.${10 * (link + 1)}.${nodeid}`;
  assertLabAddress(address);
  return address;
}

/**
 * The MAC of host n's cable on link l: locally administered, unique per lab (the prefix's 4 hex digits), so every
 * host's neighbour entries can be written before any daemon starts (`NetnsLab` pins them).
 */
export function labMac(prefix: string, nodeid: number, link: number): string {
  const hex = prefix.slice(-4);
  const byte = (n: number) => n.toString(16).padStart(2, '0');
  return `02:${hex.slice(0, 2)}:${hex.slice(2)}:${byte(link)}:${byte(nodeid >> 8)}:${byte(nodeid & 0xff)}`;
}

/** Throws unless `address` is inside 198.18.0.0/15. */
export function assertLabAddress(address: string): void {
  const octets = address.split('.').map(Number);
  const ok =
    octets.length === 4 &&
    octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255) &&
    octets[0] === 198 &&
    (octets[1] === 18 || octets[1] === 19);
  if (!ok) throw new RangeError(`lab address ${address} is outside 198.18.0.0/15`);
}
