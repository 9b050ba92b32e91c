/**
 * corosync 2 → corosync 3: turns a config with redundant rings (rrp over udp/udpu) into the knet-link form,
 * editing the syntax tree so comments and layout survive:
 * - `transport: udp|udpu` → `transport: knet`;
 * - `rrp_mode` → `link_mode` (passive → passive, active → active, none → passive);
 * - `ringnumber` → `linknumber`;
 * - udp-only keys (`bindnetaddr`, `mcastaddr`, `broadcast`, `ttl`, totem-level `mcastport`) and corosync 1
 *   leftovers (`compatibility:`, `aisexec {}`, `service {}`, `amf {}`) are commented out, not deleted, with
 *   the reason, so the admin can still see what was there;
 * - nodes without a nodeid get the lowest free one (knet requires nodeids);
 * - `config_version`, when present, is incremented.
 * What cannot be converted mechanically (corosync 1 `member {}` lists) is left in place and reported.
 */

import { bumpConfigVersion, makeComment, makePair, nodeSections, renamePairKey, setPairValue } from './edit.ts';
import {
  type ConfigTree,
  type Container,
  lastPair,
  type PairLine,
  renumberLines,
  type SectionNode,
  type TreeNode,
} from './syntax.ts';

/** The migrated tree and a human-readable list of what changed or still needs a hand. */
export interface MigrationResult {
  tree: ConfigTree;
  changes: string[];
  unresolved: string[];
}

const RRP_TO_LINK_MODE: Readonly<Record<string, string>> = { passive: 'passive', active: 'active', none: 'passive' };
const UDP_ONLY_INTERFACE_KEYS: ReadonlySet<string> = new Set(['bindnetaddr', 'mcastaddr', 'broadcast', 'ttl']);
const UDP_ONLY_TOTEM_KEYS: ReadonlySet<string> = new Set(['bindnetaddr', 'mcastaddr', 'mcastport']);
const OBSOLETE_SECTIONS: ReadonlySet<string> = new Set(['aisexec', 'service', 'amf']);
const COMMENT_PREFIX = 'corolink migrate:';

function indentOf(text: string): string {
  return text.slice(0, text.length - text.trimStart().length);
}

/** A commented-out copy of a pair, saying why it went. */
function commentOut(pair: PairLine, reason: string): TreeNode {
  return makeComment(indentOf(pair.text), `${COMMENT_PREFIX} ${pair.text.trim()} (${reason})`, pair.eol);
}

/** Every line of a section as comments, keeping their indentation. */
function commentOutSection(section: SectionNode): TreeNode[] {
  const lines: TreeNode[] = [];
  const walk = (node: TreeNode): void => {
    if (node.kind === 'section') {
      lines.push({
        kind: 'comment',
        line: 0,
        text: `${indentOf(node.open.text)}# ${node.open.text.trim()}`,
        eol: node.open.eol,
      });
      node.children.forEach(walk);
      if (node.close)
        lines.push({ kind: 'comment', line: 0, text: `${indentOf(node.close.text)}# }`, eol: node.close.eol });
    } else if (node.kind === 'blank') {
      lines.push(node);
    } else {
      lines.push({ kind: 'comment', line: 0, text: `${indentOf(node.text)}# ${node.text.trim()}`, eol: node.eol });
    }
  };
  walk(section);
  return lines;
}

class Migration {
  readonly changes: string[] = [];
  readonly unresolved: string[] = [];

  constructor(readonly tree: ConfigTree) {}

  private replaceChildren(container: Container, map: (child: TreeNode) => TreeNode | TreeNode[]): void {
    container.children = container.children.flatMap(map);
  }

  run(): MigrationResult {
    this.replaceChildren(this.tree, (child) => {
      if (child.kind === 'pair' && child.key === 'compatibility') {
        this.changes.push(`line ${child.line}: commented out 'compatibility' (corosync 1 only)`);
        return commentOut(child, 'corosync 1 only');
      }
      if (child.kind === 'section' && OBSOLETE_SECTIONS.has(child.name)) {
        this.changes.push(`line ${child.open.line}: commented out section '${child.name}' (no corosync 3 equivalent)`);
        return commentOutSection(child);
      }
      if (child.kind === 'section' && child.name === 'totem') this.migrateTotem(child);
      return child;
    });
    this.assignNodeIds();
    renumberLines(this.tree);
    if (this.changes.length > 0 && this.totemHasConfigVersion()) {
      const version = bumpConfigVersion(this.tree);
      this.changes.push(`config_version raised to ${version}`);
    }
    return { tree: this.tree, changes: this.changes, unresolved: this.unresolved };
  }

  private totemHasConfigVersion(): boolean {
    return this.tree.children.some((c) => c.kind === 'section' && c.name === 'totem' && lastPair(c, 'config_version'));
  }

  private migrateTotem(totem: SectionNode): void {
    this.replaceChildren(totem, (child) => {
      if (child.kind === 'section' && child.name === 'interface') {
        this.migrateInterface(child);
        return child;
      }
      if (child.kind !== 'pair') return child;
      if (child.key === 'transport' && (child.value === 'udp' || child.value === 'udpu')) {
        this.changes.push(`line ${child.line}: transport ${child.value} → knet`);
        setPairValue(child, 'knet');
      } else if (child.key === 'rrp_mode') {
        const mode = RRP_TO_LINK_MODE[child.value];
        if (mode === undefined) {
          this.unresolved.push(
            `line ${child.line}: rrp_mode '${child.value}' is not none/passive/active; set link_mode by hand`,
          );
          return child;
        }
        this.changes.push(`line ${child.line}: rrp_mode ${child.value} → link_mode ${mode}`);
        renamePairKey(child, 'link_mode');
        setPairValue(child, mode);
      } else if (UDP_ONLY_TOTEM_KEYS.has(child.key)) {
        this.changes.push(
          `line ${child.line}: commented out totem.${child.key} (udp only; knet uses nodelist addresses)`,
        );
        return commentOut(child, 'udp only; knet uses nodelist ringN_addr');
      }
      return child;
    });
  }

  private migrateInterface(iface: SectionNode): void {
    this.replaceChildren(iface, (child) => {
      if (child.kind === 'section' && child.name === 'member') {
        this.unresolved.push(
          `line ${child.open.line}: member {} lists addresses the corosync 1 way; move them to nodelist { node { ringN_addr } }`,
        );
        return child;
      }
      if (child.kind !== 'pair') return child;
      if (child.key === 'ringnumber') {
        this.changes.push(`line ${child.line}: ringnumber → linknumber`);
        renamePairKey(child, 'linknumber');
      } else if (UDP_ONLY_INTERFACE_KEYS.has(child.key)) {
        this.changes.push(`line ${child.line}: commented out ${child.key} (udp only)`);
        return commentOut(child, 'udp only; knet uses nodelist ringN_addr');
      }
      return child;
    });
  }

  private assignNodeIds(): void {
    const nodes = nodeSections(this.tree);
    const used = new Set(
      nodes
        .map((n) => lastPair(n, 'nodeid')?.value)
        .filter((v) => v !== undefined)
        .map(Number),
    );
    let next = 1;
    for (const node of nodes) {
      if (lastPair(node, 'nodeid')) continue;
      while (used.has(next)) next++;
      used.add(next);
      const sibling = node.children.find((c): c is PairLine => c.kind === 'pair');
      const eol = sibling?.eol || node.open.eol || '\n';
      const indent = sibling ? indentOf(sibling.text) : `${indentOf(node.open.text)}  `;
      node.children.push(makePair(indent, 'nodeid', String(next), eol));
      this.changes.push(`line ${node.open.line}: node without nodeid given nodeid ${next} (knet requires nodeids)`);
    }
  }
}

/** Migrates a corosync 2 (rrp) tree to the knet-link form; the input tree is not modified. */
export function migrateRrpToKnet(tree: ConfigTree): MigrationResult {
  return new Migration(structuredClone(tree)).run();
}
