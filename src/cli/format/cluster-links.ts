/**
 * Text of `corolink status --cluster`: every member's view of every peer × link as one matrix (row: the node that
 * sees, column: the node it sees), then every path seen down (`paths_down`, computed by the daemon) — a cut between two other nodes, or of one
 * direction only, which this node's own `corolink links` cannot show. Pure.
 */
import type { ClusterLinksV1 } from '../../ipc/schema.ts';
import { heading, table } from './text.ts';

type View = ClusterLinksV1['views'][number];
type Path = View['paths'][number];

/** `0:UP* 1:DOWN`: each link's state, `*` on the link that carries the traffic. */
function cell(paths: readonly Path[]): string {
  if (paths.length === 0) return '?';
  return [...paths]
    .sort((a, b) => a.link - b.link)
    .map((p) => `${p.link}:${p.state}${p.active ? '*' : ''}`)
    .join(' ');
}

/** `n2 → n3 link0: DOWN`, with `(n3 → n2: UP)` when the daemon marked it one-way. */
function downPathText(p: ClusterLinksV1['paths_down'][number]): string {
  return `${p.from_name} → ${p.to_name} link${p.link}: DOWN${p.one_way ? ` (${p.to_name} → ${p.from_name}: UP)` : ''}`;
}

export function clusterLinksText(links: ClusterLinksV1): string {
  const nodes = links.views.map((v) => ({ nodeid: v.nodeid, name: v.name }));
  const rows = links.views.map((view) => [
    view.nodeid === links.local_nodeid ? `${view.name} (local)` : view.name,
    ...nodes.map((to) => (to.nodeid === view.nodeid ? '-' : cell(view.paths.filter((p) => p.nodeid === to.nodeid)))),
  ]);
  const lines = [
    ...heading('Cluster-wide link view'),
    'Each row is what that node sees of the others, link:state, * on the link that carries the traffic.',
    '',
    ...table(['From \\ To', ...nodes.map((n) => n.name)], rows, nodes.map(() => 'left').concat('left') as 'left'[]),
  ];
  if (links.missing.length > 0) lines.push('', `No view yet from node(s) ${links.missing.join(', ')}.`);
  const down = links.paths_down;
  lines.push('', down.length === 0 ? 'Every path is up.' : 'Paths down:', ...down.map((d) => `  ${downPathText(d)}`));
  return `${lines.join('\n')}\n`;
}
