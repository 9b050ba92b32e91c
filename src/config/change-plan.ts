/**
 * What changing a running cluster from one corosync.conf to another does, key by key: applied live, at the next
 * daemon start, or refused; and the checks that keep the cluster connected and quorate while the change rolls out
 * (every node switches when it applies the change, so for a while old and new configs run side by side).
 * Pure. The rules and their reasons: docs/config.md, "Changing the configuration of a running cluster".
 *
 * Keys are corosync dotted paths; a repeated section is named by its identity key instead of its position:
 * `totem.token`, `totem.interface.linknumber=1.knet_link_priority`, `nodelist.node.nodeid=3.ring1_addr`,
 * `logging.logger_subsys.subsys=QUORUM.debug`. A whole link or node added or removed is one change on the section
 * (`totem.interface.linknumber=2`, `nodelist.node.nodeid=4`), its keys are not listed one by one.
 */
import type { TSchema } from 'typebox';
import { canonicalAddress, linkNetwork } from './addresses.ts';
import { type ChangeEffect, EFFECTIVE_VALUES, live, type Rule, refused, ruleFor, ruleKeyOf } from './change-rules.ts';
import type { CheckedConfig } from './check.ts';
import type { EffectiveLink, EffectiveNode } from './defaults.ts';
import { formatDiagnostic } from './diagnostics.ts';
import type { ClusterConfig, NodeConfig } from './model.ts';
import {
  CorolinkSchema,
  InterfaceSchema,
  keySchema,
  LoggerSubsysSchema,
  LoggingSchema,
  NodeSchema,
  QuorumDeviceNetSchema,
  QuorumDeviceSchema,
  QuorumSchema,
  SystemSchema,
  TotemSchema,
} from './schema.ts';

export type { ChangeEffect } from './change-rules.ts';

/** One changed key (or added/removed link or node); `from`/`to` are null where the key is absent. */
export interface ConfigChange {
  key: string;
  from: string | null;
  to: string | null;
  effect: ChangeEffect;
  reason: string;
}

export interface ConfigChangePlan {
  /** No error (refused changes are errors too): the change may be applied. */
  ok: boolean;
  changes: ConfigChange[];
  errors: string[];
  warnings: string[];
  linksAdded: number[];
  linksRemoved: number[];
  /** Links in both configs whose effective settings or node addresses changed. */
  linksUpdated: number[];
  nodesAdded: number[];
  nodesRemoved: number[];
}

export interface PlanOptions {
  /** Turn the connectivity and quorum refusals into warnings (never refused keys or invalid files). */
  force?: boolean;
}

/** A model value as corosync spells it: votequorum flags 0/1, other booleans yes/no. */
function render(value: unknown, schema: TSchema, key: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'boolean') return String(value);
  const spelling = (keySchema(schema, key) as { spelling?: string } | undefined)?.spelling;
  if (spelling === 'flag') return value ? '1' : '0';
  return value ? 'yes' : 'no';
}

/** The keys of one section as `path.key → text`, leaving out bookkeeping and identity fields. */
function sectionValues(
  path: string,
  values: object,
  schema: TSchema,
  skip: readonly string[] = [],
): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(values)) {
    const text = skip.includes(key) ? null : render(value, schema, key);
    if (text !== null) out.set(`${path}.${key}`, text);
  }
  return out;
}

/** The single-instance sections and logger_subsys, flattened. */
function scalarValues(config: ClusterConfig): Map<string, string> {
  const out = new Map<string, string>([
    ...sectionValues('totem', config.totem, TotemSchema),
    ...sectionValues('quorum', config.quorum, QuorumSchema),
    ...sectionValues('quorum.device', config.quorumDevice ?? {}, QuorumDeviceSchema, ['net']),
    ...sectionValues('quorum.device.net', config.quorumDevice?.net ?? {}, QuorumDeviceNetSchema),
    ...sectionValues('logging', config.logging, LoggingSchema),
    ...sectionValues('system', config.system, SystemSchema),
    ...sectionValues('corolink', config.corolink, CorolinkSchema),
  ]);
  for (const subsys of config.loggerSubsys) {
    const path = `logging.logger_subsys.subsys=${subsys.subsys ?? ''}`;
    for (const [key, text] of sectionValues(path, subsys, LoggerSubsysSchema, ['subsys'])) out.set(key, text);
  }
  return out;
}

const byNumber = (a: number, b: number) => a - b;
const sortedNumbers = (values: Iterable<number>) => [...values].sort(byNumber);
const linkNumbers = (checked: CheckedConfig) => new Set(checked.effective.links.map((l) => l.link));
const nodeLabel = (node: Pick<EffectiveNode, 'name' | 'nodeId'>) => node.name ?? `nodeid ${node.nodeId}`;
const addressOf = (node: EffectiveNode | undefined, link: number) => node?.addresses[link];

function interfaceValues(config: ClusterConfig, link: number): object {
  // The last interface of a link wins, as in deriveEffective (a second one is a validation error).
  return config.interfaces.findLast((i) => (i.linknumber ?? 0) === link) ?? {};
}

class Planner {
  readonly plan: ConfigChangePlan = {
    ok: false,
    changes: [],
    errors: [],
    warnings: [],
    linksAdded: [],
    linksRemoved: [],
    linksUpdated: [],
    nodesAdded: [],
    nodesRemoved: [],
  };
  /** Node pairs matched by nodeid (kept nodes); renumbered nodes (same name, other id) count as removed + added. */
  private readonly kept: [NodeConfig, NodeConfig][] = [];

  constructor(
    private readonly current: CheckedConfig,
    private readonly next: CheckedConfig,
    private readonly force: boolean,
  ) {}

  run(): ConfigChangePlan {
    const { plan, current, next } = this;
    for (const checked of [current, next]) {
      plan.errors.push(...checked.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic));
    }
    plan.warnings.push(...next.diagnostics.filter((d) => d.severity === 'warning').map(formatDiagnostic));
    this.checkVersion();
    this.diffValues(scalarValues(current.config), scalarValues(next.config));
    this.diffEffective();
    this.diffLinks();
    this.diffNodes();
    if (current.valid && next.valid) {
      this.checkAddedLinks();
      this.checkConnectivity();
      this.checkQuorum();
    }
    // Every refusal is an error too, so `ok` is simply "no error" and an error list alone tells the whole story.
    plan.errors.push(...plan.changes.filter((c) => c.effect === 'refused').map(refusalMessage));
    plan.ok = plan.errors.length === 0;
    return plan;
  }

  private change(key: string, from: string | null, to: string | null, rule: Rule): void {
    this.plan.changes.push({ key, from, to, effect: rule.effect, reason: rule.reason });
  }

  /** A refusal the admin may override with force: then it is only a warning. */
  private unsafe(message: string): void {
    if (this.force) this.plan.warnings.push(`forced: ${message}`);
    else this.plan.errors.push(`${message} (override with force)`);
  }

  private checkVersion(): void {
    const from = this.current.effective.totem.configVersion;
    const to = this.next.effective.totem.configVersion;
    if (to < from) this.plan.errors.push(`config_version went backwards (${from} → ${to})`);
    else if (to === from) this.plan.errors.push(`config_version not increased (still ${from})`);
  }

  /** Changed keys; keys judged by effective value (EFFECTIVE_VALUES) are left to diffEffective. */
  private diffValues(from: Map<string, string>, to: Map<string, string>): void {
    for (const key of new Set([...from.keys(), ...to.keys()])) {
      const [before, after] = [from.get(key) ?? null, to.get(key) ?? null];
      if (before === after || Object.hasOwn(EFFECTIVE_VALUES, key)) continue;
      this.change(key, before, after, ruleFor(ruleKeyOf(key)));
    }
  }

  /** Identity-like keys: a written change without effect is harmless; an effective change follows its rule. */
  private diffEffective(): void {
    const written = [scalarValues(this.current.config), scalarValues(this.next.config)] as const;
    for (const [key, effectiveOf] of Object.entries(EFFECTIVE_VALUES)) {
      const [before, after] = [written[0].get(key) ?? null, written[1].get(key) ?? null];
      const [effectiveBefore, effectiveAfter] = [effectiveOf(this.current.effective), effectiveOf(this.next.effective)];
      if (effectiveBefore !== effectiveAfter) {
        // secauth is reported only when written; its effect shows up as crypto_cipher/crypto_hash otherwise.
        if (before !== after) this.change(key, before, after, ruleFor(key));
        else if (key !== 'totem.secauth') {
          const rule = ruleFor(key);
          this.change(key, effectiveBefore, effectiveAfter, {
            ...rule,
            reason: `effective value (the written one is unchanged); ${rule.reason}`,
          });
        }
      } else if (before !== after) {
        this.change(key, before, after, live(`no effect: the effective value stays ${effectiveBefore}`));
      }
    }
  }

  private diffLinks(): void {
    const { plan, current, next } = this;
    const [before, after] = [linkNumbers(current), linkNumbers(next)];
    const addresses = (checked: CheckedConfig, link: number) =>
      checked.effective.nodes.flatMap((n) => addressOf(n, link) ?? []).join(', ');
    for (const link of sortedNumbers(new Set([...before, ...after]))) {
      const key = `totem.interface.linknumber=${link}`;
      if (!after.has(link)) {
        plan.linksRemoved.push(link);
        this.change(key, addresses(current, link), null, live('the link is closed; the other links carry traffic'));
      } else if (!before.has(link)) {
        plan.linksAdded.push(link);
        this.change(
          key,
          null,
          addresses(next, link),
          live('the link is opened on every node as it applies the change'),
        );
      } else {
        this.diffValues(
          sectionValues(key, interfaceValues(current.config, link), InterfaceSchema, ['index', 'linknumber']),
          sectionValues(key, interfaceValues(next.config, link), InterfaceSchema, ['index', 'linknumber']),
        );
        if (this.linkChanged(link)) plan.linksUpdated.push(link);
      }
    }
  }

  /** Effective settings (what the transport runs, not corosync's comparison values) or an address differ. */
  private linkChanged(link: number): boolean {
    const settings = (checked: CheckedConfig) => {
      const { corosync: _, ...rest } = checked.effective.links.find((l) => l.link === link) as EffectiveLink;
      return JSON.stringify(rest);
    };
    if (settings(this.current) !== settings(this.next)) return true;
    const nextNodes = new Map(this.next.effective.nodes.map((n) => [n.nodeId, n]));
    return this.current.effective.nodes.some((n) => {
      const other = nextNodes.get(n.nodeId);
      return other !== undefined && addressOf(other, link) !== addressOf(n, link);
    });
  }

  private diffNodes(): void {
    const { plan } = this;
    const [before, after] = [this.current.config.nodes, this.next.config.nodes];
    const byId = new Map(after.map((n) => [n.nodeid, n]));
    const gone = before.filter((n) => !byId.has(n.nodeid));
    const fresh = after.filter((n) => !before.some((b) => b.nodeid === n.nodeid));
    for (const node of before) {
      const other = byId.get(node.nodeid);
      if (other) this.kept.push([node, other]);
    }
    for (const node of gone) {
      const renumbered = fresh.find((n) => n.name !== undefined && n.name === node.name);
      if (renumbered) {
        this.change(
          `nodelist.node.name=${node.name}.nodeid`,
          String(node.nodeid),
          String(renumbered.nodeid),
          refused(
            "a node's id is its identity in Totem membership and votequorum: remove the node and add it back under the new id",
          ),
        );
      }
    }
    const summary = (node: NodeConfig) =>
      [
        node.name ?? '(no name)',
        `${node.quorum_votes ?? 1} vote(s)`,
        ...node.addresses.map((a) => `link${a.link} ${a.address}`),
      ].join(', ');
    for (const node of gone) {
      plan.nodesRemoved.push(node.nodeid ?? 0);
      this.change(
        `nodelist.node.nodeid=${node.nodeid}`,
        summary(node),
        null,
        live(
          'every node stops talking to it and votequorum stops counting it (run `corolink delnode` with the node powered off)',
        ),
      );
    }
    for (const node of fresh) {
      plan.nodesAdded.push(node.nodeid ?? 0);
      this.change(
        `nodelist.node.nodeid=${node.nodeid}`,
        null,
        summary(node),
        live('every node starts heartbeating to it and admits it into the membership once it runs this config'),
      );
    }
    plan.nodesRemoved.sort(byNumber);
    plan.nodesAdded.sort(byNumber);
    // Addresses on added or removed links belong to the link's change.
    const linkKeys = [...plan.linksAdded, ...plan.linksRemoved].map((link) => `ring${link}_addr`);
    for (const [node, other] of this.kept) {
      const path = `nodelist.node.nodeid=${node.nodeid}`;
      const skip = ['index', 'addresses', 'nodeid', ...linkKeys];
      this.diffValues(sectionValues(path, node, NodeSchema, skip), sectionValues(path, other, NodeSchema, skip));
    }
  }

  /** A new link must add redundancy: its own network, no address of another link. */
  private checkAddedLinks(): void {
    const nodes = this.next.effective.nodes;
    for (const link of this.plan.linksAdded) {
      const own = nodes.flatMap((n) => addressOf(n, link) ?? []);
      const networks = new Set(own.flatMap((a) => linkNetwork(a) ?? []));
      if (networks.size > 1) {
        this.plan.warnings.push(
          `the addresses of link ${link} are in ${networks.size} networks (${[...networks].join(', ')}); a link is normally one network`,
        );
      }
      const canonical = new Set(own.map(canonicalAddress));
      for (const other of linkNumbers(this.next)) {
        // Two added links are compared once.
        if (other === link || (this.plan.linksAdded.includes(other) && other > link)) continue;
        const theirs = nodes.flatMap((n) => addressOf(n, other) ?? []);
        for (const address of theirs.filter((a) => canonical.has(canonicalAddress(a)))) {
          this.plan.errors.push(`address ${address} is used on link ${other} and on the new link ${link}`);
        }
        const shared = [...new Set(theirs.flatMap((a) => linkNetwork(a) ?? []))].filter((n) => networks.has(n));
        for (const network of shared) {
          this.plan.errors.push(
            `the new link ${link} shares the network ${network} with link ${other}: a redundant link needs its own network (NIC and switch)`,
          );
        }
      }
    }
  }

  /**
   * While the change rolls out, a node runs the old or the new config: each pair of nodes that stays needs a link
   * both configs have with both its addresses unchanged. (After the change every pair shares every link: a valid
   * config gives every node an address on every link.)
   */
  private checkConnectivity(): void {
    const before = [...linkNumbers(this.current)];
    if (!before.some((link) => linkNumbers(this.next).has(link))) {
      const which =
        before.length === 1 ? `link ${before[0]}, its only link` : `every link it has (${before.join(', ')})`;
      this.unsafe(
        `the change removes from the running cluster ${which}: nodes that applied it and nodes that did not yet would share no link; add the new link first and remove the old one in a second change`,
      );
      return;
    }
    const effectiveNode = (checked: CheckedConfig, node: NodeConfig) =>
      checked.effective.nodes.find((n) => n.nodeId === node.nodeid);
    const stays = this.kept.map(([a, b]) => [effectiveNode(this.current, a), effectiveNode(this.next, b)] as const);
    const steady = (pair: (typeof stays)[number], link: number) =>
      addressOf(pair[0], link) !== undefined && addressOf(pair[0], link) === addressOf(pair[1], link);
    const cut: string[] = [];
    stays.forEach((u, i) => {
      for (const v of stays.slice(i + 1)) {
        if (!before.some((link) => steady(u, link) && steady(v, link)))
          cut.push(`${nodeLabel(u[1]!)}–${nodeLabel(v[1]!)}`);
      }
    });
    if (cut.length > 0) {
      this.unsafe(
        `nodes ${cut.join(', ')} would share no link while the change rolls out (each of their common links is removed or gets a new address); change one link at a time`,
      );
    }
  }

  private checkQuorum(): void {
    const [was, will] = [this.current.effective.quorum, this.next.effective.quorum];
    const nodeCount = this.next.effective.nodes.length;
    const deviceVotes = will.device?.votes ?? 0;
    if (will.quorumVotes > will.totalVotes + deviceVotes) {
      const device = deviceVotes > 0 ? ` and the quorum device ${deviceVotes}` : '';
      this.unsafe(
        `quorum would be unreachable: expected_votes ${will.expectedVotes} needs ${will.quorumVotes} votes, the ${nodeCount} configured node(s) have ${will.totalVotes}${device}`,
      );
      return;
    }
    const nextVotes = new Map(this.next.effective.nodes.map((n) => [n.nodeId, n.votes]));
    const keptVotes = this.kept.reduce((sum, [node]) => sum + (nextVotes.get(node.nodeid ?? null) ?? 0), 0);
    if (keptVotes < was.totalVotes && keptVotes < was.quorumVotes) {
      this.unsafe(
        `the nodes that stay have ${keptVotes} vote(s), fewer than the ${was.quorumVotes} the running cluster needs for quorum (expected_votes ${was.expectedVotes}): they lose quorum before the change reaches them; remove fewer nodes or votes at a time`,
      );
    } else if (this.plan.nodesAdded.length > 0 && keptVotes < will.quorumVotes) {
      this.plan.warnings.push(
        `until the added nodes join, the running nodes have ${keptVotes} of the ${will.quorumVotes} votes the new config needs for quorum: the cluster is not quorate in between`,
      );
    }
  }
}

/** The error a refused change adds to the plan's errors. */
export function refusalMessage(change: ConfigChange): string {
  return `${change.key} cannot change on a running cluster (${change.from ?? '(unset)'} → ${change.to ?? '(unset)'}): ${change.reason}`;
}

/**
 * Plans the change from the running config to `next`: every changed key with its effect and reason, the links
 * and nodes added, removed or updated, and what makes it unsafe. `ok` when it may be applied.
 */
export function planConfigChange(
  current: CheckedConfig,
  next: CheckedConfig,
  options: PlanOptions = {},
): ConfigChangePlan {
  return new Planner(current, next, options.force === true).run();
}
