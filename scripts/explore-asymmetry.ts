// Bounded exploration of asymmetric reachability in 4- and 5-node simulated clusters: for each shape and seed,
// break some pairs while every node multicasts every TRAFFIC_EVERY_MS from the moment of the break (as quorum and
// CPG do), let it settle for SETTLE_MS, then count the regular configurations installed during OBSERVE_MS.
// A seed "never settles" when any node still installs a configuration after the settle window.
// --stagger: the break comes at a seed-drawn moment (up to BREAK_OFFSET_MAX_MS later) and each cut pair loses its
// links one at a time (up to LINK_STAGGER_MAX_MS apart), so the two ends see the break at different times.
//   node --import tsx scripts/explore-asymmetry.ts [--seeds 1-100] [--shape name] [--stagger] [--verbose]
import { SimCluster, TRAFFIC_EVERY_MS, TRANSPORT_SETTLED_MS } from '../src/sim/cluster.ts';
import { Rng } from '../src/sim/rng.ts';

/** How a shape breaks a pair: at once on every link, or link by link. */
type Cut = (cluster: SimCluster, a: number, b: number) => void;

interface Shape {
  name: string;
  nodes: number[];
  /** The pairs (`a-b`) that lose every link between them at the moment of the break. */
  cuts: string[];
  /** A node whose every link then loses 30 % of its packets (both directions). */
  lossyNode?: number;
}

const LINKS = 2;
const BREAK_OFFSET_MAX_MS = 2000;
const LINK_STAGGER_MAX_MS = 300;
const LOSS_PCT = 30;
const cutAtOnce: Cut = (cluster, a, b) => cluster.network.blockPair(a, b);
const cutLinkByLink =
  (rng: Rng): Cut =>
  (cluster, a, b) => {
    cluster.network.blockPair(a, b, 0);
    for (let link = 1; link < LINKS; link++) {
      cluster.scheduler.after(rng.int(0, LINK_STAGGER_MAX_MS), () => cluster.network.blockPair(a, b, link));
    }
  };

const SHAPES: Shape[] = [
  { name: '4n-1x2', nodes: [1, 2, 3, 4], cuts: ['1-2'] },
  { name: '5n-12x3', nodes: [1, 2, 3, 4, 5], cuts: ['1-3', '2-3'] },
  { name: '5n-1x2-3x4', nodes: [1, 2, 3, 4, 5], cuts: ['1-2', '3-4'] },
  { name: '5n-1x23', nodes: [1, 2, 3, 4, 5], cuts: ['1-2', '1-3'] },
  { name: '5n-1x2-2x3', nodes: [1, 2, 3, 4, 5], cuts: ['1-2', '2-3'] },
  { name: '4n-1x2-loss4', nodes: [1, 2, 3, 4], cuts: ['1-2'], lossyNode: 4 },
  { name: '5n-1x2-loss5', nodes: [1, 2, 3, 4, 5], cuts: ['1-2'], lossyNode: 5 },
  // Controls: the same loss without the cut (does the loss alone keep the ring re-forming?).
  { name: '4n-loss4', nodes: [1, 2, 3, 4], cuts: [], lossyNode: 4 },
  { name: '5n-loss5', nodes: [1, 2, 3, 4, 5], cuts: [], lossyNode: 5 },
];

const SETTLE_MS = 15_000;
const OBSERVE_MS = 45_000;

interface SeedResult {
  seed: number;
  /** Regular configurations installed (summed over nodes) during the observe window. */
  configsObserved: number;
  /** Regular configurations installed (summed over nodes) from the break to the end. */
  configsTotal: number;
  /** Distinct ring ids installed during the observe window. */
  ringsObserved: number;
  /** The memberships at the end, one per node: "1 3 4 | 2 3 4 ...". */
  final: string;
  /** Virtual ms after the break of the last configuration installed anywhere. */
  lastConfigMs: number;
  /** Why nodes entered GATHER during the observe window (Totem's reason text → count, summed over nodes). */
  gatherReasons: Map<string, number>;
}

function runSeed(shape: Shape, seed: number, stagger: boolean): SeedResult {
  const { nodes } = shape;
  const cluster = new SimCluster({ seed, nodes, links: LINKS });
  if (!cluster.runUntil(() => cluster.converged(nodes), 10_000))
    throw new Error(`${shape.name} seed ${seed}: no start`);
  cluster.runFor(TRANSPORT_SETTLED_MS);
  const rng = new Rng(seed);
  if (stagger) cluster.runFor(rng.int(0, BREAK_OFFSET_MAX_MS));
  const regular = (node: number) =>
    cluster.node(node).trace.entries.filter((entry) => entry.kind === 'config' && entry.type === 'regular');
  const before = nodes.map((node) => regular(node).length);
  const breakAt = cluster.scheduler.now();
  const installedAt: number[] = [];
  const countsAt = () => nodes.map((node) => regular(node).length);
  const cut = stagger ? cutLinkByLink(rng) : cutAtOnce;
  for (const pair of shape.cuts) {
    const [a, b] = pair.split('-').map(Number) as [number, number];
    cut(cluster, a, b);
  }
  for (let link = 0; shape.lossyNode !== undefined && link < LINKS; link++)
    cluster.network.setConditions(link, { lossPct: LOSS_PCT }, shape.lossyNode);
  const encoder = new TextEncoder();
  let settled: number[] = [];
  let last = countsAt();
  for (let elapsed = 0; elapsed < SETTLE_MS + OBSERVE_MS; elapsed += TRAFFIC_EVERY_MS) {
    if (elapsed === SETTLE_MS) settled = countsAt();
    for (const node of nodes) cluster.multicast(node, encoder.encode(`${node}@${elapsed}`));
    cluster.runFor(TRAFFIC_EVERY_MS);
    const now = countsAt();
    if (now.some((count, i) => count !== last[i])) installedAt.push(cluster.scheduler.now() - breakAt);
    last = now;
  }
  const end = countsAt();
  const gatherReasons = new Map<string, number>();
  for (const node of nodes) {
    for (const line of cluster.node(node).logs) {
      const reason = /entering GATHER state from (.*)\.?$/.exec(line.message)?.[1];
      if (reason && line.at >= breakAt + SETTLE_MS) gatherReasons.set(reason, (gatherReasons.get(reason) ?? 0) + 1);
    }
  }
  const rings = new Set<string>();
  nodes.forEach((node, i) => {
    for (const entry of regular(node).slice(settled[i])) rings.add(`${entry.ringId.rep}.${entry.ringId.seq}`);
  });
  const sum = (a: number[], b: number[]) => a.reduce((total, count, i) => total + count - b[i]!, 0);
  return {
    seed,
    configsObserved: sum(end, settled),
    configsTotal: sum(end, before),
    ringsObserved: rings.size,
    final: nodes.map((node) => `${node}:[${cluster.snapshot(node).members.join(' ')}]`).join(' '),
    lastConfigMs: installedAt.at(-1) ?? 0,
    gatherReasons,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function parseSeeds(text: string): number[] {
  const [from, to] = text.split('-').map(Number);
  return Array.from({ length: (to ?? from!) - from! + 1 }, (_, i) => from! + i);
}

const args = process.argv.slice(2);
const option = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const seeds = parseSeeds(option('--seeds') ?? '1-100');
const shapeName = option('--shape');
const verbose = args.includes('--verbose');
const stagger = args.includes('--stagger');
for (const shape of SHAPES.filter((s) => !shapeName || s.name === shapeName)) {
  const results: SeedResult[] = [];
  const startedAt = performance.now();
  for (const seed of seeds) {
    const result = runSeed(shape, seed, stagger);
    results.push(result);
    if (verbose || result.configsObserved > 0) {
      console.log(
        `  ${shape.name} seed ${seed}: observed ${result.configsObserved} configs / ${result.ringsObserved} rings, total ${result.configsTotal}, last at +${result.lastConfigMs} ms; ${result.final}`,
      );
    }
  }
  const unsettled = results.filter((r) => r.configsObserved > 0).map((r) => r.seed);
  const totals = results.map((r) => r.configsTotal);
  const finals = new Map<string, number>();
  for (const r of results) finals.set(r.final, (finals.get(r.final) ?? 0) + 1);
  console.log(
    `${shape.name}: ${seeds.length} seeds, never settled ${unsettled.length} [${unsettled.join(' ')}], ` +
      `configs after the break (sum over nodes) median ${median(totals)} max ${Math.max(...totals)}, ` +
      `last config median +${median(results.map((r) => r.lastConfigMs))} ms max +${Math.max(...results.map((r) => r.lastConfigMs))} ms, ` +
      `${((performance.now() - startedAt) / 1000).toFixed(0)} s wall`,
  );
  const reasons = new Map<string, number>();
  for (const r of results)
    for (const [reason, count] of r.gatherReasons) reasons.set(reason, (reasons.get(reason) ?? 0) + count);
  if (reasons.size > 0)
    console.log(`    GATHER after settling: ${[...reasons].map(([r, n]) => `${n}× ${r}`).join(', ')}`);
  for (const [final, count] of [...finals].sort((a, b) => b[1] - a[1]).slice(0, 4))
    console.log(`    ${count}× ${final}`);
}
