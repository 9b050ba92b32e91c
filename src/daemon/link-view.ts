/**
 * The daemon's side of the cluster-wide link view (./link-view-engine.ts): hands the engine this node's paths
 * whenever a link changes or the membership does, and builds the `clusterLinks` answer with node names.
 */
import type { ClusterLinksV1 } from '../ipc/schema.ts';
import type { NodeEngine } from './engine.ts';
import { LINK_VIEW_SERVICE_ID, LinkViewEngine, type PathView } from './link-view-engine.ts';

type Views = ClusterLinksV1['views'];

/**
 * Every path some member sees DOWN, `one_way` when its other end sees the same link UP: a fault of one direction.
 * The one place this rule lives; the CLI and the dashboard print its result.
 */
export function pathsDown(views: Views): ClusterLinksV1['paths_down'] {
  const stateOf = new Map<string, 'UP' | 'DOWN'>();
  for (const view of views) for (const p of view.paths) stateOf.set(`${view.nodeid}>${p.nodeid}:${p.link}`, p.state);
  return views.flatMap((view) =>
    view.paths
      .filter((p) => p.state === 'DOWN')
      .map((p) => ({
        from: view.nodeid,
        from_name: view.name,
        to: p.nodeid,
        to_name: p.name,
        link: p.link,
        one_way: stateOf.get(`${p.nodeid}>${view.nodeid}:${p.link}`) === 'UP',
      })),
  );
}

export class LinkViewService {
  readonly serviceEngine = new LinkViewEngine();
  private engine: NodeEngine | undefined;

  attach(engine: NodeEngine): void {
    this.engine = engine;
    const update = () => engine.serviceRequest(LINK_VIEW_SERVICE_ID, this.localPaths());
    engine.on('link', update);
    engine.on('membership', update);
    update();
  }

  clusterLinks(): ClusterLinksV1 {
    const engine = this.engine!;
    const names = new Map(engine.checked.config.nodes.map((n) => [n.nodeid, n.name ?? `node${n.nodeid}`]));
    const nameOf = (nodeid: number) => names.get(nodeid) ?? `node${nodeid}`;
    const { members, views: received } = this.serviceEngine.snapshot();
    const views: Views = received.map((view) => ({
      nodeid: view.nodeid,
      name: nameOf(view.nodeid),
      paths: view.paths.map((p) => ({
        nodeid: p.nodeid,
        name: nameOf(p.nodeid),
        link: p.link,
        state: p.up ? 'UP' : 'DOWN',
        active: p.active,
      })),
    }));
    return {
      version: 1,
      local_nodeid: engine.localNodeId,
      views,
      missing: members.filter((m) => !views.some((v) => v.nodeid === m)),
      paths_down: pathsDown(views),
    };
  }

  private localPaths(): PathView[] {
    return this.engine!.transportSnapshot().peerLinks.map((s) => ({
      nodeid: s.nodeId,
      link: s.link,
      up: s.connected,
      active: s.inUse,
    }));
  }
}
