/**
 * The cluster-wide link view as the stack's service engine 6: every member multicasts what its transport sees of
 * every peer × link (up or down, and which link carries the traffic) whenever that changes and in the sync after
 * every configuration change, so each member holds every member's view. `corolink status --cluster` and the
 * dashboard show it as a matrix: a link down in one direction only is visible from any node, which no single
 * node's own view can show (corosync-cfgtool -s on every node, gathered through the ring instead of by ssh).
 *
 * Views are soft state: the sync needs no barrier (each arrives in agreed order like any message), so the engine
 * has no `syncProcess`. Pure: the daemon hands in the local view as a `serviceRequest`; no clock, no socket.
 */
import { LINK_NUMBER_MAX } from '../base/limits.ts';
import { PROCESSORS_MAX } from '../totem/messages.ts';
import type { ConfigChange, EngineAction, RegularChange, ServiceEngine } from './service-engine.ts';
import type { StackEvent } from './stack.ts';

/** The link view's service id: the first byte of its Totem payloads. */
export const LINK_VIEW_SERVICE_ID = 6;

/** One path as a node sees it: towards `nodeid` on `link`. */
export interface PathView {
  nodeid: number;
  link: number;
  up: boolean;
  /** This link carries the traffic to `nodeid` now (knet's active link). */
  active: boolean;
}

/** A member's view of every path it has, as last multicast by it. */
export interface NodeLinkView {
  nodeid: number;
  paths: PathView[];
}

/** Format version of the message (the first byte after the service id). */
const FORMAT_VERSION = 1;
const HEADER_BYTES = 3;
const PATH_BYTES = 6;
/** Most paths one view may hold: every other processor on every link. */
const PATHS_MAX = PROCESSORS_MAX * (LINK_NUMBER_MAX + 1);
const FLAG_UP = 1;
const FLAG_ACTIVE = 2;

export function encodeLinkView(paths: readonly PathView[]): Uint8Array {
  const bytes = Buffer.alloc(HEADER_BYTES + paths.length * PATH_BYTES);
  bytes.writeUInt8(FORMAT_VERSION, 0);
  bytes.writeUInt16BE(paths.length, 1);
  paths.forEach((path, i) => {
    const at = HEADER_BYTES + i * PATH_BYTES;
    bytes.writeUInt32BE(path.nodeid, at);
    bytes.writeUInt8(path.link, at + 4);
    bytes.writeUInt8((path.up ? FLAG_UP : 0) | (path.active ? FLAG_ACTIVE : 0), at + 5);
  });
  return bytes;
}

/** The paths of a view message, or the reason it is malformed. Never throws. */
export function decodeLinkView(payload: Uint8Array): PathView[] | string {
  if (payload.length < HEADER_BYTES) return `${payload.length} bytes, shorter than the header`;
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (bytes.readUInt8(0) !== FORMAT_VERSION) return `format version ${bytes.readUInt8(0)}`;
  const count = bytes.readUInt16BE(1);
  if (count > PATHS_MAX) return `${count} paths, more than ${PATHS_MAX}`;
  if (bytes.length !== HEADER_BYTES + count * PATH_BYTES) return `${bytes.length} bytes for ${count} paths`;
  const paths: PathView[] = [];
  for (let i = 0; i < count; i++) {
    const at = HEADER_BYTES + i * PATH_BYTES;
    const link = bytes.readUInt8(at + 4);
    const flags = bytes.readUInt8(at + 5);
    if (link > LINK_NUMBER_MAX) return `link ${link}`;
    if (flags > (FLAG_UP | FLAG_ACTIVE)) return `flags ${flags}`;
    paths.push({
      nodeid: bytes.readUInt32BE(at),
      link,
      up: (flags & FLAG_UP) !== 0,
      active: (flags & FLAG_ACTIVE) !== 0,
    });
  }
  return paths;
}

const samePaths = (a: readonly PathView[], b: readonly PathView[]) =>
  a.length === b.length &&
  a.every((p, i) => {
    const q = b[i]!;
    return p.nodeid === q.nodeid && p.link === q.link && p.up === q.up && p.active === q.active;
  });

export class LinkViewEngine implements ServiceEngine {
  readonly id = LINK_VIEW_SERVICE_ID;
  readonly name = 'LINKVIEW';
  readonly requests = [] as const;
  readonly counters = { malformed: 0, published: 0 };
  /** Every member's last view, by node id; only members of the current configuration are kept. */
  private readonly views = new Map<number, PathView[]>();
  private members: readonly number[] = [];
  /** This node's view, as the daemon last handed it in (sorted by node id, then link). */
  private local: PathView[] = [];
  /** What this node last multicast; a new view is sent only when it differs. */
  private published: PathView[] | undefined;

  /** A `serviceRequest` carries this node's current paths (`PathView[]`). */
  request(event: StackEvent): EngineAction[] {
    if (event.type !== 'serviceRequest') return [];
    this.local = [...(event.request as PathView[])].sort((a, b) => a.nodeid - b.nodeid || a.link - b.link);
    return this.members.length > 0 ? this.publish(false) : [];
  }

  deliver(sender: number, payload: Uint8Array): EngineAction[] {
    const paths = decodeLinkView(payload);
    if (typeof paths === 'string') {
      this.counters.malformed++;
      return [
        {
          type: 'log',
          level: 'warning',
          subsystem: 'KNET',
          message: `dropped a malformed link view from node ${sender}: ${paths}`,
        },
      ];
    }
    if (this.members.includes(sender)) this.views.set(sender, paths);
    return [];
  }

  /** A regular configuration: views of nodes that left are dropped (their paths are unknown now). */
  confchg(change: ConfigChange): EngineAction[] {
    if (change.kind !== 'regular') return [];
    this.members = [...change.members];
    for (const nodeid of this.views.keys()) if (!this.members.includes(nodeid)) this.views.delete(nodeid);
    return [];
  }

  /** Every member multicasts its view in the sync, so a joining node learns every view at once. */
  syncInit(_change: RegularChange): EngineAction[] {
    return this.publish(true);
  }

  /** Every member's view (members without one yet have none), ascending by node id. */
  snapshot(): { members: number[]; views: NodeLinkView[] } {
    const views = [...this.views].sort(([a], [b]) => a - b).map(([nodeid, paths]) => ({ nodeid, paths }));
    return { members: [...this.members], views };
  }

  private publish(always: boolean): EngineAction[] {
    if (!always && this.published !== undefined && samePaths(this.published, this.local)) return [];
    this.published = this.local;
    this.counters.published++;
    return [{ type: 'multicast', payload: encodeLinkView(this.local) }];
  }
}
