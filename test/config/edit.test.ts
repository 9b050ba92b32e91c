/** The editing API, fmt and migration: edits change only what they must and keep the admin's layout. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  addLink,
  addNode,
  bumpConfigVersion,
  ConfigEditError,
  checkConfigText,
  formatConfig,
  migrateRrpToKnet,
  parseConfig,
  printConfig,
  removeKey,
  removeNode,
  setKey,
} from '../../src/config/index.ts';
import { VALID_CONFIG } from './helpers.ts';

const treeOf = (text: string) => parseConfig(text, 'edit.conf').tree;

/** Lines of `after` that are not in `before` (a poor man's diff, enough for small edits). */
function addedLines(before: string, after: string): string[] {
  const old = new Set(before.split('\n'));
  return after.split('\n').filter((line) => !old.has(line));
}

describe('editing API', () => {
  test('setKey changes one value in place and keeps comments and odd spacing', () => {
    const text = '# cluster\ntotem {\n\tversion: 2\n\ttoken:   3000   \n\t# keep me\n}\n';
    const tree = treeOf(text);
    setKey(tree, ['totem'], 'token', '5000');
    assert.equal(printConfig(tree), '# cluster\ntotem {\n\tversion: 2\n\ttoken:   5000   \n\t# keep me\n}\n');
  });

  test('setKey creates missing sections with the file indentation and line endings', () => {
    const tree = treeOf('totem {\r\n\tversion: 2\r\n}\r\n');
    setKey(tree, ['quorum'], 'provider', 'corosync_votequorum');
    assert.equal(
      printConfig(tree),
      'totem {\r\n\tversion: 2\r\n}\r\nquorum {\r\n\tprovider: corosync_votequorum\r\n}\r\n',
    );
  });

  test('an edit keeps a missing final newline missing', () => {
    const tree = treeOf('totem {\n  version: 2\n}');
    setKey(tree, ['totem'], 'cluster_name', 'x');
    assert.equal(printConfig(tree), 'totem {\n  version: 2\n  cluster_name: x\n}');
    setKey(tree, ['logging'], 'to_syslog', 'yes');
    assert.equal(printConfig(tree), 'totem {\n  version: 2\n  cluster_name: x\n}\nlogging {\n  to_syslog: yes\n}');
  });

  test('removeKey removes every copy of a key and reports whether it existed', () => {
    const tree = treeOf('totem {\n  token: 1\n  join: 60\n  token: 2\n}\n');
    assert.equal(removeKey(tree, ['totem'], 'token'), true);
    assert.equal(removeKey(tree, ['totem'], 'token'), false);
    assert.equal(removeKey(tree, ['quorum'], 'token'), false);
    assert.equal(printConfig(tree), 'totem {\n  join: 60\n}\n');
  });

  test('addNode appends a valid node; duplicates are refused', () => {
    const tree = treeOf(VALID_CONFIG);
    addNode(tree, { nodeid: 4, name: 'd', addresses: { 1: '198.18.20.4', 0: '198.18.10.4' }, quorumVotes: 1 });
    const text = printConfig(tree);
    const newNode =
      '  node {\n    name: d\n    nodeid: 4\n    quorum_votes: 1\n    ring0_addr: 198.18.10.4\n    ring1_addr: 198.18.20.4\n  }\n';
    assert.equal(text, VALID_CONFIG.replace('  }\n}\n\nquorum', `  }\n${newNode}}\n\nquorum`));
    const checked = checkConfigText(text, 'edit.conf');
    assert.equal(checked.valid, true);
    assert.equal(checked.config.nodes.length, 4);
    assert.throws(() => addNode(tree, { nodeid: 4, name: 'e', addresses: { 0: '198.18.10.5' } }), ConfigEditError);
    assert.throws(() => addNode(tree, { nodeid: 5, name: 'a', addresses: { 0: '198.18.10.5' } }), /name 'a'/);
  });

  test('removeNode by name or nodeid', () => {
    const tree = treeOf(VALID_CONFIG);
    assert.equal(removeNode(tree, { name: 'b' }), true);
    assert.equal(removeNode(tree, { nodeid: 3 }), true);
    assert.equal(removeNode(tree, { nodeid: 3 }), false);
    const checked = checkConfigText(printConfig(tree), 'edit.conf');
    assert.deepEqual(
      checked.config.nodes.map((n) => n.name),
      ['a'],
    );
    // positions are renumbered after the edit
    assert.equal(checked.diagnostics.filter((d) => d.severity === 'error').length, 0);
  });

  test('addLink adds ringN_addr to every node and an interface section', () => {
    const tree = treeOf(VALID_CONFIG);
    addLink(tree, 2, { a: '198.18.30.1', b: '198.18.30.2', '3': '198.18.30.3' }, { knet_link_priority: '5' });
    const checked = checkConfigText(printConfig(tree), 'edit.conf');
    assert.equal(checked.valid, true, JSON.stringify(checked.diagnostics));
    assert.deepEqual(
      checked.effective.links.map((l) => [l.link, l.priority]),
      [
        [0, 1],
        [1, 1],
        [2, 5],
      ],
    );
    assert.match(printConfig(tree), /ring1_addr: 198\.18\.20\.1\n {4}ring2_addr: 198\.18\.30\.1\n/);
    assert.match(
      printConfig(tree),
      / {2}interface \{\n {4}linknumber: 1\n {2}\}\n {2}interface \{\n {4}linknumber: 2\n/,
    );
  });

  test('addLink refuses bad requests without touching the tree', () => {
    const tree = treeOf(VALID_CONFIG);
    assert.throws(() => addLink(tree, 8, {}), /out of range/);
    assert.throws(() => addLink(tree, 2, { a: '198.18.30.1' }), /no address given for node 'b'/);
    assert.throws(() => addLink(tree, 1, { a: 'x', b: 'y', c: 'z' }), /already has ring1_addr/);
    assert.equal(printConfig(tree), VALID_CONFIG);
  });

  test('bumpConfigVersion increments or creates config_version', () => {
    const tree = treeOf(VALID_CONFIG);
    assert.equal(bumpConfigVersion(tree), 2);
    assert.deepEqual(addedLines(VALID_CONFIG, printConfig(tree)), ['  config_version: 2']);
    const bare = treeOf('totem {\n  version: 2\n}\n');
    assert.equal(bumpConfigVersion(bare), 1);
    assert.throws(() => bumpConfigVersion(treeOf('totem {\n  config_version: x\n}\n')), ConfigEditError);
  });
});

describe('fmt', () => {
  test('normalises indentation and spacing, keeps comments and the line ending', () => {
    const messy = 'totem{\r\n version:2   \r\n\r\n\r\n   # note\r\n      interface {\r\n linknumber:0\r\n }\r\n}\r\n';
    assert.equal(
      formatConfig(treeOf(messy)),
      'totem {\r\n version: 2\r\n\r\n # note\r\n interface {\r\n  linknumber: 0\r\n }\r\n}\r\n',
    );
  });
});

const RRP_CONFIG = `# corosync 2 with two rings
totem {
\tversion: 2
\tcluster_name: old
\tconfig_version: 7
\ttransport: udpu
\trrp_mode: none
\tinterface {
\t\tringnumber: 0
\t\tbindnetaddr: 198.18.10.0
\t\tmcastport: 5405
\t}
\tinterface {
\t\tringnumber: 1
\t\tbindnetaddr: 198.18.20.0
\t}
}
nodelist {
\tnode {
\t\tname: a
\t\tring0_addr: 198.18.10.1
\t\tring1_addr: 198.18.20.1
\t}
\tnode {
\t\tname: b
\t\tnodeid: 1
\t\tring0_addr: 198.18.10.2
\t\tring1_addr: 198.18.20.2
\t}
}
quorum {
\tprovider: corosync_votequorum
\ttwo_node: 1
}
`;

describe('migrateRrpToKnet', () => {
  test('turns rrp rings into knet links, keeping comments and layout', () => {
    const before = checkConfigText(RRP_CONFIG, 'old.conf');
    assert.equal(before.valid, false);
    const result = migrateRrpToKnet(treeOf(RRP_CONFIG));
    const text = printConfig(result.tree);
    const after = checkConfigText(text, 'new.conf');
    assert.deepEqual(
      after.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
    assert.equal(after.effective.totem.transport, 'knet');
    assert.equal(after.effective.totem.linkMode, 'passive');
    assert.equal(after.effective.totem.configVersion, 8);
    assert.deepEqual(
      after.effective.nodes.map((n) => n.nodeId),
      [2, 1],
    );
    assert.ok(text.startsWith('# corosync 2 with two rings\ntotem {\n\tversion: 2\n'));
    assert.match(text, /\t\tlinknumber: 1\n\t\t# corolink migrate: bindnetaddr: 198\.18\.20\.0 \(udp only/);
    assert.match(text, /\tlink_mode: passive\n/);
    assert.deepEqual(result.unresolved, []);
  });

  test('does not modify its input and reports member {} blocks it cannot convert', () => {
    const legacy =
      'totem {\n  version: 2\n  interface {\n    ringnumber: 0\n    member {\n      memberaddr: 198.18.10.1\n    }\n  }\n}\n';
    const tree = treeOf(legacy);
    const result = migrateRrpToKnet(tree);
    assert.equal(printConfig(tree), legacy);
    assert.equal(result.unresolved.length, 1);
    assert.match(result.unresolved[0]!, /member \{\}/);
  });
});
