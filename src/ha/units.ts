/**
 * What the managers place and run: a **unit** is a group (`group:NAME`, its resources started in order on one node
 * and stopped in reverse) or a resource outside any group (its sid). A group's requested state is the most
 * restrictive of its members' (disabled, then stopped, then ignored, then started) and its retry budgets the
 * smallest of theirs, its monitor interval the shortest. Placement (ha-manager's select_service_node): the allowed online nodes of the highest
 * priority, then the one running the fewest units, then the lowest node id.
 */
import type { HaRequestedState, HaResourceSpec } from './contract.ts';
import type { HaGroup, HaResourcesConfig } from './resources-file.ts';

export interface HaUnit {
  id: string;
  /** Start order. */
  members: HaResourceSpec[];
  requested: HaRequestedState;
  maxRestart: number;
  maxRelocate: number;
  /** How often the local manager runs the members' monitors while started (the shortest member's interval). */
  monitorIntervalMs: number;
  /** Each member's monitor limit, in `members` order. */
  monitorTimeoutsMs: number[];
  group: HaGroup | null;
}

const STRICTNESS: readonly HaRequestedState[] = ['disabled', 'stopped', 'ignored', 'started'];

/** The units of a configuration, sorted by id. */
export function unitsOf(config: HaResourcesConfig): HaUnit[] {
  const bySid = new Map(config.resources.map((r) => [r.spec.sid, r]));
  const units: HaUnit[] = [];
  for (const group of config.groups) {
    const members = group.resources.map((sid) => bySid.get(sid)!);
    units.push({
      id: `group:${group.name}`,
      members: members.map((m) => m.spec),
      requested: STRICTNESS.find((s) => members.some((m) => m.settings.state === s)) ?? 'started',
      maxRestart: Math.min(...members.map((m) => m.settings.maxRestart)),
      maxRelocate: Math.min(...members.map((m) => m.settings.maxRelocate)),
      monitorIntervalMs: Math.min(...members.map((m) => m.settings.monitorIntervalMs)),
      monitorTimeoutsMs: members.map((m) => m.settings.monitorTimeoutMs),
      group,
    });
  }
  for (const r of config.resources) {
    if (r.settings.group !== undefined) continue;
    units.push({
      id: r.spec.sid,
      members: [r.spec],
      requested: r.settings.state,
      maxRestart: r.settings.maxRestart,
      maxRelocate: r.settings.maxRelocate,
      monitorIntervalMs: r.settings.monitorIntervalMs,
      monitorTimeoutsMs: [r.settings.monitorTimeoutMs],
      group: null,
    });
  }
  return units.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A node's priority for a unit: its group's rule, −1 for a node the rule does not list, null when not allowed. */
export function nodePriority(unit: HaUnit, node: number, nodeName: (id: number) => string | undefined): number | null {
  const rules = unit.group?.nodes ?? [];
  if (rules.length === 0) return 0;
  const name = nodeName(node);
  const rule = rules.find((r) => r.node === String(node) || (name !== undefined && r.node === name));
  if (rule) return rule.priority;
  return unit.group!.restricted ? null : -1;
}

export interface PlacementView {
  /** Online nodes that may take units (not in maintenance), ascending. */
  candidates: readonly number[];
  /** Units placed on each node. */
  load: (node: number) => number;
  nodeName: (id: number) => string | undefined;
}

/** The node a unit should run on, or null when no allowed node is online; `exclude` holds nodes it failed on. */
export function selectNode(unit: HaUnit, view: PlacementView, exclude: readonly number[] = []): number | null {
  let best: { node: number; priority: number; load: number } | null = null;
  for (const node of view.candidates) {
    if (exclude.includes(node)) continue;
    const priority = nodePriority(unit, node, view.nodeName);
    if (priority === null) continue;
    const load = view.load(node);
    if (
      best === null ||
      priority > best.priority ||
      (priority === best.priority && (load < best.load || (load === best.load && node < best.node)))
    ) {
      best = { node, priority, load };
    }
  }
  return best?.node ?? null;
}

/** The highest priority among the candidates (failback compares the current node's with it). */
export function bestPriority(unit: HaUnit, view: PlacementView): number | null {
  let best: number | null = null;
  for (const node of view.candidates) {
    const priority = nodePriority(unit, node, view.nodeName);
    if (priority !== null && (best === null || priority > best)) best = priority;
  }
  return best;
}
