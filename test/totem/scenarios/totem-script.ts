/**
 * The command language of the Totem scenario files (docs/totem.md § Scenario tests): each command drives or
 * observes a {@link SimCluster} — the real transport and Totem cores of every node on the seeded virtual network —
 * and returns its output text. Observation commands print what happened since they last printed it, so a file
 * reads as a story. Everything is deterministic: one seed, virtual time.
 */
import { SimCluster, type SimClusterOptions } from '../../../src/sim/cluster.ts';
import type { SimNode } from '../../../src/sim/node.ts';
import { formatRingId } from '../../../src/sim/trace.ts';
import type { Guarantee } from '../../../src/totem/types.ts';
import { PONG_TIMEOUT_BACKOFF_START, PONG_TIMEOUT_BACKOFF_STEP_MS } from '../../../src/transport/limits.ts';

/** After `ring`: the transport's start-up pong-timeout backoff has decayed, a dead link is seen in one ping timeout. */
const TRANSPORT_SETTLED_MS = (PONG_TIMEOUT_BACKOFF_START + 1) * PONG_TIMEOUT_BACKOFF_STEP_MS;
/** How long `ring` and `run-until-stable` wait at most by default. */
const WAIT_LIMIT_MS = 60_000;
/** Polling step of the waits. */
const POLL_MS = 10;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A command with bad syntax or arguments; the runner reports it with the file and line. */
export class ScriptError extends Error {}

/** One incarnation of a node and how much of it the observation commands already printed. */
interface Incarnation {
  sim: SimNode;
  deliveriesShown: number;
  logsShown: number;
  crashShown: boolean;
}

/** Interprets scenario commands against one simulated cluster (built by the `ring` command). */
export class TotemScript {
  private cluster: SimCluster | undefined;
  private readonly incarnations = new Map<number, Incarnation[]>();
  /** Incarnations stopped by `leave` (a clean shutdown), shown as `<left>` rather than `<crashed>`. */
  private readonly left = new Set<SimNode>();

  /** Runs one command line; returns its output ('' when it prints nothing). */
  run(line: string): string {
    const [name, ...args] = tokenize(line);
    if (name === undefined) return '';
    if (name === 'ring') return this.ring(args);
    const command = this.commands[name];
    if (!command)
      throw new ScriptError(`unknown command '${name}' (commands: ring, ${Object.keys(this.commands).join(', ')})`);
    if (!this.cluster) throw new ScriptError(`'${name}' before 'ring'`);
    return command(this.cluster, args);
  }

  private readonly commands: Record<string, (cluster: SimCluster, args: string[]) => string> = {
    tick: (cluster, args) => {
      cluster.runFor(number(args[0], 'tick MS'));
      this.track(cluster);
      return '';
    },
    'run-until-stable': (cluster, args) =>
      this.runUntilStable(cluster, args[0] ? number(args[0], 'limit') : WAIT_LIMIT_MS),
    send: (cluster, args) => {
      const [node, ...rest] = args;
      const id = nodeId(node, cluster, 'send N MESSAGE… [safe]');
      const safe = rest.at(-1) === 'safe';
      const texts = safe ? rest.slice(0, -1) : rest;
      if (texts.length === 0) throw new ScriptError('send N MESSAGE… [safe]: no message');
      const guarantee: Guarantee = safe ? 'safe' : 'agreed';
      if (!cluster.isUp(id)) return `n${id}: down, not sent`;
      const refused = texts.filter((text) => !cluster.multicast(id, encoder.encode(unquote(text)), guarantee));
      return refused.length ? `n${id}: refused (backpressure): ${refused.join(' ')}` : '';
    },
    crash: (cluster, args) => {
      for (const id of nodeIds(args, cluster, 'crash N…')) cluster.crash(id);
      return '';
    },
    leave: (cluster, args) => {
      for (const id of nodeIds(args, cluster, 'leave N…')) {
        if (cluster.isUp(id)) this.left.add(cluster.node(id));
        cluster.leave(id);
      }
      return '';
    },
    restart: (cluster, args) => {
      for (const id of nodeIds(args, cluster, 'restart N…')) cluster.restart(id);
      this.track(cluster);
      return '';
    },
    cut: (cluster, args) => this.cable(cluster, args, true),
    heal: (cluster, args) => {
      if (args.length === 0) cluster.network.heal();
      else this.cable(cluster, args, false);
      return '';
    },
    partition: (cluster, args) => {
      const groups = args
        .join(' ')
        .split('|')
        .map((group) =>
          nodeIds(
            group
              .trim()
              .split(/[\s,]+/)
              .filter(Boolean),
            cluster,
            'partition A,B | C',
          ),
        );
      if (groups.length < 2) throw new ScriptError('partition A,B | C: at least two groups');
      cluster.network.partition(groups);
      return '';
    },
    loss: (cluster, args) => {
      const [pct, ...rest] = args;
      const lossPct = number(pct, 'loss PCT [linkK] [node=N]');
      if (lossPct > 100) throw new ScriptError(`loss PCT: ${lossPct} is above 100`);
      const options = keyValues(
        rest.filter((arg) => !arg.startsWith('link')),
        ['node'],
      );
      const host = options.node === undefined ? undefined : nodeId(options.node, cluster, 'loss … node=N');
      const linkArg = rest.find((arg) => arg.startsWith('link'));
      const links = linkArg ? [link(linkArg, cluster)] : linkRange(cluster);
      for (const l of links) cluster.network.setConditions(l, { lossPct }, host);
      return '';
    },
    deliveries: (cluster, args) => this.perNode(cluster, args, (node) => this.deliveries(node)),
    log: (cluster, args) => {
      const all = args.includes('all');
      return this.perNode(
        cluster,
        args.filter((arg) => arg !== 'all'),
        (node) => this.logs(node, all),
      );
    },
    state: (cluster, args) =>
      this.perNode(cluster, args, (node) => {
        if (!cluster.isUp(node)) return ['down'];
        const status = cluster.snapshot(node);
        const ring = status.ringId ? formatRingId(status.ringId) : 'none';
        return [`${status.state} ring ${ring} [${status.members.join(' ')}]`];
      }),
    membership: (cluster, args) =>
      this.perNode(cluster, args, (node) => [cluster.isUp(node) ? cluster.snapshot(node).members.join(' ') : 'down']),
    'ring-id': (cluster, args) =>
      this.perNode(cluster, args, (node) => {
        if (!cluster.isUp(node)) return ['down'];
        const { ringId } = cluster.snapshot(node);
        return [ringId ? formatRingId(ringId) : 'none'];
      }),
    stats: (cluster, args) =>
      this.perNode(cluster, args, (node) => {
        if (!cluster.isUp(node)) return ['down'];
        const s = cluster.snapshot(node);
        return [
          `delivered=${s.delivered} retransmitted=${s.retransmitted} retransmit-requested=${s.retransmitRequested}` +
            ` token-retransmits=${s.tokenRetransmits} pending=${s.pending} configurations=${s.configurations}`,
        ];
      }),
  };

  /** `ring N [links=L] [seed=S] [ping-timeout=MS] [down=A,B] [formation=shown]`: builds the cluster,
   * waits for one ring and for the transport to settle. The formation is left out of later `deliveries` and `log`
   * unless `formation=shown`. */
  private ring(args: string[]): string {
    if (this.cluster) throw new ScriptError("'ring' twice in one file");
    const [count, ...rest] = args;
    const size = number(count, 'ring N');
    const options = keyValues(rest, ['links', 'seed', 'ping-timeout', 'down', 'formation']);
    if (options.formation !== undefined && options.formation !== 'shown') {
      throw new ScriptError(`ring: formation=${options.formation} (only formation=shown)`);
    }
    const nodes = Array.from({ length: size }, (_, i) => i + 1);
    const clusterOptions: SimClusterOptions = { seed: options.seed ? number(options.seed, 'seed') : 1, nodes };
    if (options.links) clusterOptions.links = number(options.links, 'links');
    if (options['ping-timeout'])
      clusterOptions.transport = { pingTimeoutMs: number(options['ping-timeout'], 'ping-timeout') };
    const cluster = new SimCluster(clusterOptions);
    this.cluster = cluster;
    // `down=` nodes are configured but stopped before the clock starts: they can join later with `restart`.
    const down = options.down ? nodeIds(options.down.split(','), cluster, 'down=A,B') : [];
    for (const id of down) cluster.crash(id);
    const up = nodes.filter((id) => !down.includes(id));
    if (!cluster.runUntil(() => cluster.converged(up), WAIT_LIMIT_MS, POLL_MS)) {
      throw new ScriptError(`ring: nodes ${up.join(' ')} formed no ring within ${WAIT_LIMIT_MS} ms`);
    }
    cluster.runFor(TRANSPORT_SETTLED_MS);
    this.track(cluster);
    if (options.formation === 'shown') return this.commands.state!(cluster, []);
    for (const list of this.incarnations.values()) {
      for (const incarnation of list) {
        incarnation.deliveriesShown = incarnation.sim.trace.entries.length;
        incarnation.logsShown = incarnation.sim.logs.length;
        incarnation.crashShown = incarnation.sim.trace.ended === 'crashed';
      }
    }
    return this.commands.state!(cluster, []);
  }

  /** `cut|heal N linkK [in|out]`, `cut|heal A B [linkK]` (the pair, every link if none), `cut|heal all linkK`. */
  private cable(cluster: SimCluster, args: string[], cut: boolean): string {
    const usage = `${cut ? 'cut' : 'heal'} N linkK [in|out] | A B [linkK] | all linkK`;
    const network = cluster.network;
    if (args[0] === 'all') {
      const l = link(args[1], cluster);
      if (cut) network.cutSwitch(l);
      else network.restoreSwitch(l);
      return '';
    }
    const first = nodeId(args[0], cluster, usage);
    if (args[1] !== undefined && !args[1].startsWith('link')) {
      const second = nodeId(args[1], cluster, usage);
      const l = args[2] === undefined ? undefined : link(args[2], cluster);
      if (cut) network.blockPair(first, second, l);
      else network.unblockPair(first, second, l);
      return '';
    }
    const l = link(args[1], cluster);
    const direction = args[2] ?? 'both';
    if (direction !== 'both' && direction !== 'in' && direction !== 'out') throw new ScriptError(usage);
    if (cut) network.cut(first, l, direction);
    else network.restore(first, l, direction);
    return '';
  }

  private runUntilStable(cluster: SimCluster, limitMs: number): string {
    const fingerprint = () =>
      cluster.nodeIds
        .map((id) => {
          if (!cluster.isUp(id)) return 'down';
          const s = cluster.snapshot(id);
          return `${s.state}:${s.configurations}`;
        })
        .join(',');
    // Long enough for a token loss and a consensus round: a change still under way shows within it.
    const stableMs = cluster.totem.tokenMs + cluster.totem.consensusMs;
    let last = fingerprint();
    let since = cluster.scheduler.now();
    const operational = () =>
      cluster.nodeIds.every((id) => !cluster.isUp(id) || cluster.snapshot(id).state === 'operational');
    const stable = cluster.runUntil(
      () => {
        const now = fingerprint();
        if (now !== last) {
          last = now;
          since = cluster.scheduler.now();
        }
        return operational() && cluster.scheduler.now() - since >= stableMs;
      },
      limitMs,
      POLL_MS,
    );
    this.track(cluster);
    return stable ? '' : `not stable within ${limitMs} ms`;
  }

  /** Remembers every incarnation (a restart makes a new one) so a crashed one can still be printed. */
  private track(cluster: SimCluster): void {
    for (const id of cluster.nodeIds) {
      if (!cluster.isUp(id)) continue;
      const sim = cluster.node(id);
      const list = this.incarnations.get(id) ?? [];
      if (list.at(-1)?.sim !== sim) list.push({ sim, deliveriesShown: 0, logsShown: 0, crashShown: false });
      this.incarnations.set(id, list);
    }
  }

  /**
   * Messages and configuration changes a node delivered since last shown, `<crashed>` or `<left>` where an incarnation ended;
   * `-` when nothing new, `down` when nothing new and the node is down.
   */
  private deliveries(node: number): string[] {
    const words: string[] = [];
    for (const incarnation of this.incarnations.get(node) ?? []) {
      if (words.length && incarnation.deliveriesShown === 0) words.push('<restarted>');
      const { trace } = incarnation.sim;
      for (const entry of trace.entries.slice(incarnation.deliveriesShown)) {
        if (entry.kind === 'config') {
          words.push(`[${entry.type} ${formatRingId(entry.ringId)}: ${entry.members.join(' ')}]`);
        } else {
          const text = quote(decoder.decode(entry.payload));
          words.push(entry.guarantee === 'safe' ? `${text}(safe)` : text);
        }
      }
      incarnation.deliveriesShown = trace.entries.length;
      if (trace.ended === 'crashed' && !incarnation.crashShown) {
        words.push(this.left.has(incarnation.sim) ? '<left>' : '<crashed>');
        incarnation.crashShown = incarnation.sim.trace.ended === 'crashed';
      }
    }
    if (words.length) return [words.join(' ')];
    return [this.cluster?.isUp(node) ? '-' : 'down'];
  }

  /** Totem's log lines (with `all`, the transport's too) since last shown. */
  private logs(node: number, all: boolean): string[] {
    const lines: string[] = [];
    for (const incarnation of this.incarnations.get(node) ?? []) {
      for (const line of incarnation.sim.logs.slice(incarnation.logsShown)) {
        if (all || line.subsystem === 'TOTEM') lines.push(`[${line.subsystem}] ${line.message.trimEnd()}`);
      }
      incarnation.logsShown = incarnation.sim.logs.length;
    }
    return lines;
  }

  /** Prints `nN: …` lines for the given nodes (default every node); a node with several lines gets one each. */
  private perNode(cluster: SimCluster, args: string[], show: (node: number) => string[]): string {
    this.track(cluster);
    const nodes = args.length ? nodeIds(args, cluster, 'node ids') : cluster.nodeIds;
    return nodes.flatMap((node) => show(node).map((line) => `n${node}: ${line}`)).join('\n');
  }
}

/** Splits a command line into words; `"…"` is one word (JSON string syntax), kept quoted. */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  const pattern = /"(?:[^"\\]|\\.)*"|\S+/g;
  for (const match of line.matchAll(pattern)) words.push(match[0]);
  return words;
}

function unquote(word: string): string {
  return word.startsWith('"') ? (JSON.parse(word) as string) : word;
}

/** A payload as printed: bare when it is a plain word, else as a JSON string. */
function quote(text: string): string {
  return /^[\w.:@#-]+$/.test(text) ? text : JSON.stringify(text);
}

function number(word: string | undefined, usage: string): number {
  const value = Number(word);
  if (word === undefined || word === '' || !Number.isFinite(value) || value < 0) {
    throw new ScriptError(`${usage}: '${word ?? ''}' is not a non-negative number`);
  }
  return value;
}

function nodeId(word: string | undefined, cluster: SimCluster, usage: string): number {
  const id = Number(word?.replace(/^n/, ''));
  if (!cluster.nodeIds.includes(id)) throw new ScriptError(`${usage}: '${word ?? ''}' is not a node of the ring`);
  return id;
}

function nodeIds(words: string[], cluster: SimCluster, usage: string): number[] {
  if (words.length === 0) throw new ScriptError(`${usage}: no node given`);
  return words.map((word) => nodeId(word, cluster, usage));
}

function link(word: string | undefined, cluster: SimCluster): number {
  const l = Number(word?.replace(/^link/, ''));
  if (!word?.startsWith('link') || !linkRange(cluster).includes(l)) {
    throw new ScriptError(`'${word ?? ''}' is not a link (link0 … link${linkRange(cluster).length - 1})`);
  }
  return l;
}

function linkRange(cluster: SimCluster): number[] {
  return Array.from({ length: cluster.network.options.links }, (_, l) => l);
}

function keyValues(words: string[], allowed: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const word of words) {
    const [key, value] = word.split('=');
    if (key === undefined || value === undefined || !allowed.includes(key)) {
      throw new ScriptError(`'${word}': expected one of ${allowed.map((k) => `${k}=…`).join(' ')}`);
    }
    out[key] = value;
  }
  return out;
}
