/**
 * corosync 1/2 (and openais) forms. They parse, so old files can be read and migrated, but a corosync 3 /
 * corolink cluster cannot run them: validation rejects each one with the corosync 3 equivalent in one line.
 */
import { type Diagnostic, diagnostic } from './diagnostics.ts';
import { type ConfigTree, keyPosition, type SectionNode, sectionPosition, valuePosition } from './syntax.ts';

const MIGRATE_HINT = 'run `corolink config migrate`';

/** Top-level sections of corosync 1/2 and what replaces them. */
export const LEGACY_SECTION_ADVICE: Readonly<Record<string, string>> = {
  aisexec: 'aisexec {} is openais/corosync 1 (user and group to run as); corosync 3 has no such section: remove it',
  service:
    'service {} loaded plugins such as pacemaker in corosync 1/2; corosync 3 has no plugins (pacemaker runs on its own): remove it',
  amf: 'amf {} is an openais section with no corosync 3 equivalent: remove it',
};

/** Keys of corosync 1/2 and what replaces them, by the section they appear in. */
export const LEGACY_KEY_ADVICE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '': { compatibility: 'compatibility: is a corosync 1 setting with no corosync 3 meaning: remove it' },
  totem: {
    rrp_mode: `rrp_mode is corosync 2's redundant ring protocol; corosync 3 uses link_mode (passive/active/rr) — ${MIGRATE_HINT}`,
    bindnetaddr: "bindnetaddr is a udp/udpu option; knet takes each node's address from nodelist ringN_addr",
    mcastaddr: 'mcastaddr is udp multicast; knet sends unicast to the nodelist addresses: remove it',
    mcastport: 'mcastport belongs in an interface {} section in corosync 3',
  },
  interface: {
    ringnumber: `ringnumber is corosync 2; corosync 3 calls it linknumber — ${MIGRATE_HINT}`,
    bindnetaddr: "bindnetaddr is a udp/udpu option; knet takes each node's address from nodelist ringN_addr",
    mcastaddr: 'mcastaddr is udp multicast; knet sends unicast to the nodelist addresses: remove it',
    broadcast: 'broadcast is a udp option; knet sends unicast to the nodelist addresses: remove it',
    ttl: 'ttl is a udp multicast option with no knet meaning: remove it',
  },
};

const LEGACY_TRANSPORTS: Readonly<Record<string, string>> = {
  udp: `transport udp (multicast) is corosync 2; corosync 3 and corolink use knet (the default) — ${MIGRATE_HINT}`,
  udpu: `transport udpu is corosync 2; corosync 3 and corolink use knet (the default) — ${MIGRATE_HINT}`,
};

const MEMBER_ADVICE =
  'member {} is corosync 1 udpu; list the nodes in nodelist { node { nodeid: … ring0_addr: … } } instead';

function legacyKeys(
  section: SectionNode | ConfigTree,
  table: Readonly<Record<string, string>>,
  out: Diagnostic[],
  file: string,
): void {
  for (const child of section.children) {
    if (child.kind !== 'pair') continue;
    const advice = table[child.key];
    if (advice) out.push(diagnostic('error', 'legacy', file, keyPosition(child), advice));
  }
}

/** Every corosync 1/2 construct in the file, as errors naming the corosync 3 equivalent. */
export function findLegacyForms(tree: ConfigTree): Diagnostic[] {
  const out: Diagnostic[] = [];
  const file = tree.fileName;
  legacyKeys(tree, LEGACY_KEY_ADVICE['']!, out, file);
  for (const top of tree.children) {
    if (top.kind !== 'section') continue;
    const sectionAdvice = LEGACY_SECTION_ADVICE[top.name];
    if (sectionAdvice) {
      out.push(diagnostic('error', 'legacy', file, sectionPosition(top), sectionAdvice));
      continue;
    }
    if (top.name !== 'totem') continue;
    legacyKeys(top, LEGACY_KEY_ADVICE.totem!, out, file);
    for (const child of top.children) {
      if (child.kind === 'pair' && child.key === 'transport' && LEGACY_TRANSPORTS[child.value]) {
        out.push(diagnostic('error', 'legacy', file, valuePosition(child), LEGACY_TRANSPORTS[child.value]!));
      }
      if (child.kind !== 'section' || child.name !== 'interface') continue;
      legacyKeys(child, LEGACY_KEY_ADVICE.interface!, out, file);
      for (const inner of child.children) {
        if (inner.kind === 'section' && inner.name === 'member') {
          out.push(diagnostic('error', 'legacy', file, sectionPosition(inner), MEMBER_ADVICE));
        }
      }
    }
  }
  return out;
}
